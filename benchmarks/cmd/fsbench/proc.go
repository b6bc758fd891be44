package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// proc is a measured child process. CPU time is read from
// /proc/<pid>/stat (user + system, all threads) and peak RSS from VmHWM in
// /proc/<pid>/status, so that other load on the machine stretches wall
// time but not the CPU-seconds charged to the process.
type proc struct {
	name  string
	cmd   *exec.Cmd
	start time.Time
	log   *os.File
	done  chan struct{}
	err   error
}

// startProc starts name with args; its stdout and stderr go to logPath.
func startProc(name string, args []string, logPath string) (*proc, error) {
	return startProcEnv(name, args, nil, logPath)
}

// startProcEnv is startProc with env added to this process's environment.
func startProcEnv(name string, args, env []string, logPath string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{name: name, cmd: cmd, log: lf, done: make(chan struct{})}
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

// usage is one process's resource use at a moment.
type usage struct {
	Wall    time.Duration
	CPU     time.Duration
	PeakRSS int64 // bytes
}

// sample reads the process's CPU time and peak RSS now.
func (p *proc) sample() (usage, error) {
	u := usage{Wall: time.Since(p.start)}
	pid := p.cmd.Process.Pid
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, fmt.Errorf("%s: reading /proc stat: %w", p.name, err)
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the whole line.
	rest := stat[bytes.LastIndexByte(stat, ')')+2:]
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return u, fmt.Errorf("%s: short /proc stat line", p.name)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	u.CPU = time.Duration(ut+st) * time.Second / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, fmt.Errorf("%s: reading /proc status: %w", p.name, err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			u.PeakRSS = kb << 10
		}
	}
	return u, nil
}

// wait waits for the process to exit on its own and returns its usage
// from the kernel's accounting (rusage), which counts every thread.
func (p *proc) wait(ctx context.Context, timeout time.Duration) (usage, error) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.kill()
		return usage{}, fmt.Errorf("%s did not finish within %v", p.name, timeout)
	case <-ctx.Done():
		p.kill()
		return usage{}, ctx.Err()
	}
	u := usage{Wall: time.Since(p.start)}
	st := p.cmd.ProcessState
	u.CPU = st.UserTime() + st.SystemTime()
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		u.PeakRSS = ru.Maxrss << 10
	}
	if p.err != nil {
		return u, fmt.Errorf("%s: %w (log: %s)", p.name, p.err, p.log.Name())
	}
	return u, nil
}

// stop sends SIGTERM and waits up to grace for the exit, then kills.
func (p *proc) stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
		return fmt.Errorf("%s did not stop within %v of SIGTERM; killed", p.name, grace)
	}
	var ee *exec.ExitError
	if p.err != nil && !(errors.As(p.err, &ee) && !ee.Exited()) {
		// A clean shutdown on SIGTERM exits 0; a non-zero exit is reported.
		return fmt.Errorf("%s: %w (log: %s)", p.name, p.err, p.log.Name())
	}
	return nil
}

func (p *proc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// runProc runs a command to completion and returns its usage.
func runProc(ctx context.Context, name string, args []string, logPath string, timeout time.Duration) (usage, error) {
	p, err := startProc(name, args, logPath)
	if err != nil {
		return usage{}, err
	}
	return p.wait(ctx, timeout)
}

// waitFor polls cond every interval until it returns true, an error, or
// the timeout passes. It returns the time at which cond first held.
func waitFor(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done within %v", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
