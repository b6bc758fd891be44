//go:build integration

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// process is one running `flowship index` process.
type process struct {
	cmd     *exec.Cmd
	log     string
	started time.Time
	exited  chan struct{}
	err     error // set before exited closes
}

// startIndexer runs `flowship index` with the test's configuration; its
// output goes to logs/index-<n>.log.
func (e *e2e) startIndexer(bin string, n int) *process {
	e.t.Helper()
	return e.startFlowship(bin, "index", e2eConfigFile, n)
}

// startFlowship runs `flowship <sub> --config cfgPath` with the test's
// environment; its output goes to logs/<sub>-<n>.log. Cleanup kills it.
func (e *e2e) startFlowship(bin, sub, cfgPath string, n int) *process {
	e.t.Helper()
	p := &process{log: filepath.Join(e.dir, "logs", fmt.Sprintf("%s-%02d.log", sub, n)), exited: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	p.cmd = exec.Command(bin, sub, "--config", cfgPath)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = e.environ(), f, f
	if err := p.cmd.Start(); err != nil {
		e.t.Fatalf("starting flowship %s: %v", sub, err)
	}
	p.started = time.Now()
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	e.t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.exited })
	return p
}

// running fails t if the process has exited.
func (p *process) running(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		t.Fatalf("flowship index exited on its own: %v\n%s", p.err, tail(p.log, 30))
	default:
	}
}

// waitLog waits until the process has logged a line containing s and
// returns how long after its start that was.
func (p *process) waitLog(t *testing.T, s string, timeout time.Duration) time.Duration {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p.running(t)
		if b, _ := os.ReadFile(p.log); strings.Contains(string(b), s) {
			return time.Since(p.started)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("flowship index did not log %q within %s\n%s", s, timeout, tail(p.log, 30))
	return 0
}

// kill SIGKILLs the process; it fails t if the process had exited already.
func (p *process) kill(t *testing.T) {
	t.Helper()
	p.running(t)
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// terminate sends SIGTERM and expects a clean exit within 30s.
func (p *process) terminate(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("flowship index did not stop within 30s of SIGTERM\n%s", tail(p.log, 30))
	}
	if p.err != nil {
		t.Fatalf("flowship index exited with %v after SIGTERM\n%s", p.err, tail(p.log, 30))
	}
}

// stage is one in-process subcommand (collect or index) running with the
// test's configuration and logging to its own file.
type stage struct {
	name, log string
	stop      context.CancelFunc
	done      chan struct{}
	err       error // set before done closes
	checked   bool  // shutdown has reported err
}

func (e *e2e) start(name string, cfg Config, run func(context.Context, Config, io.Writer) error) *stage {
	e.t.Helper()
	s := &stage{name: name, log: filepath.Join(e.dir, "logs", name+".log"), done: make(chan struct{})}
	f, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go func() {
		defer f.Close()
		s.err = run(ctx, cfg, f)
		close(s.done)
	}()
	e.t.Cleanup(func() { s.shutdown(e.t) })
	return s
}

// running fails t if the stage has ended on its own.
func (s *stage) running(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
		t.Fatalf("%s ended on its own: %v\n%s", s.name, s.err, tail(s.log, 30))
	default:
	}
}

// shutdown stops the stage as SIGTERM would and fails t unless it returns
// nil within a minute.
func (s *stage) shutdown(t *testing.T) {
	t.Helper()
	s.stop()
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatalf("%s did not stop within a minute of its context ending\n%s", s.name, tail(s.log, 30))
	}
	if s.checked {
		return
	}
	s.checked = true
	if s.err != nil {
		t.Errorf("%s returned %v\n%s", s.name, s.err, tail(s.log, 30))
	}
}
