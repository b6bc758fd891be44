package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one incarnation of a flowship process (collect or index).
type proc struct {
	role    string // "collect" or "index"
	slot    int    // index: 1..3
	cmd     *exec.Cmd
	log     string
	started time.Time
	exited  chan struct{}
	err     error // set before exited closes
	hwmKiB  int64 // highest VmHWM sampled, under procs.mu
}

// procs starts flowship processes and samples the peak RSS (VmHWM) of
// every incarnation.
type procs struct {
	bin, config, logDir string
	env                 []string

	mu   sync.Mutex
	all  []*proc          // every incarnation, for the RSS report
	live map[string]*proc // "collect", "index-1" ...
}

func newProcs(bin, config, logDir string, env []string) *procs {
	return &procs{bin: bin, config: config, logDir: logDir, env: env, live: map[string]*proc{}}
}

func key(role string, slot int) string {
	if role == "collect" {
		return role
	}
	return fmt.Sprintf("%s-%d", role, slot)
}

// start runs `flowship <role> --config ...`; its output is appended to
// logs/<role>[-slot].log.
func (ps *procs) start(role string, slot int) (*proc, error) {
	k := key(role, slot)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p := ps.live[k]; p != nil && p.alive() {
		return p, nil
	}
	p := &proc{role: role, slot: slot, log: filepath.Join(ps.logDir, k+".log"), exited: make(chan struct{})}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fmt.Fprintf(f, "=== %s chaos: starting flowship %s ===\n", time.Now().UTC().Format(time.RFC3339Nano), role)
	p.cmd = exec.Command(ps.bin, role, "--config", ps.config)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = ps.env, f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting flowship %s: %w", role, err)
	}
	p.started = time.Now()
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	ps.live[k] = p
	ps.all = append(ps.all, p)
	return p, nil
}

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (ps *procs) get(role string, slot int) *proc {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.live[key(role, slot)]
}

// signal sends sig to the live incarnation and waits up to wait for it to
// exit; it reports whether it exited.
func (ps *procs) signal(role string, slot int, sig syscall.Signal, wait time.Duration) (bool, error) {
	p := ps.get(role, slot)
	if p == nil || !p.alive() {
		return true, nil
	}
	ps.sample(p) // the last look at its VmHWM before it goes
	if err := p.cmd.Process.Signal(sig); err != nil {
		return false, err
	}
	select {
	case <-p.exited:
		return true, nil
	case <-time.After(wait):
		return false, nil
	}
}

// kill SIGKILLs the live incarnation.
func (ps *procs) kill(role string, slot int) error {
	exited, err := ps.signal(role, slot, syscall.SIGKILL, 30*time.Second)
	if err == nil && !exited {
		err = fmt.Errorf("%s did not exit within 30s of SIGKILL", key(role, slot))
	}
	return err
}

// stop sends SIGTERM, then SIGKILL after grace; a process that needed the
// KILL is reported in the error.
func (ps *procs) stop(role string, slot int, grace time.Duration) error {
	exited, err := ps.signal(role, slot, syscall.SIGTERM, grace)
	if err != nil {
		return err
	}
	if !exited {
		_ = ps.kill(role, slot)
		return fmt.Errorf("%s did not stop within %s of SIGTERM; killed", key(role, slot), grace)
	}
	if p := ps.get(role, slot); p != nil && p.err != nil {
		return fmt.Errorf("%s exited with %v after SIGTERM", key(role, slot), p.err)
	}
	return nil
}

// killAll SIGKILLs every live process (the way out on failure).
func (ps *procs) killAll() {
	ps.mu.Lock()
	var live []*proc
	for _, p := range ps.live {
		live = append(live, p)
	}
	ps.mu.Unlock()
	for _, p := range live {
		if p.alive() {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	}
}

// sampleLoop reads VmHWM of every live process every interval until ctx ends.
func (ps *procs) sampleLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ps.mu.Lock()
		var live []*proc
		for _, p := range ps.live {
			live = append(live, p)
		}
		ps.mu.Unlock()
		for _, p := range live {
			if p.alive() {
				ps.sample(p)
			}
		}
	}
}

func (ps *procs) sample(p *proc) {
	kib, err := vmHWM(p.cmd.Process.Pid)
	if err != nil {
		return
	}
	ps.mu.Lock()
	p.hwmKiB = max(p.hwmKiB, kib)
	ps.mu.Unlock()
}

// vmHWM reads the peak resident set size of pid from /proc, in KiB.
func vmHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
}

// peak is the highest VmHWM over the incarnations of role.
type peak struct {
	role         string
	incarnations int
	maxKiB       int64
}

func (ps *procs) peaks() []peak {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := []peak{{role: "collect"}, {role: "index"}}
	for _, p := range ps.all {
		i := 0
		if p.role == "index" {
			i = 1
		}
		out[i].incarnations++
		out[i].maxKiB = max(out[i].maxKiB, p.hwmKiB)
	}
	return out
}
