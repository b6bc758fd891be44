package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// faultType is one kind of fault the campaign injects.
type faultType struct {
	name string
	desc string
	run  func(ctx context.Context, c *campaign, f *fault) error
}

// fault is one injected fault: when it ran and what happened.
type fault struct {
	n          int
	typ        string
	start, end time.Time
	notes      []string
	err        error
	// found counts the findings attributed to this fault, by outcome; set
	// by attribute.
	found map[string]int
}

func (f *fault) notef(format string, args ...any) {
	f.notes = append(f.notes, fmt.Sprintf(format, args...))
}

var faultTypes = []faultType{
	{"collect-kill", "SIGKILL collect, restart it", faultCollectKill},
	{"collect-kill-rotation", "rotate by rename, write a window, SIGKILL collect 0-400 ms later", faultCollectKillRotation},
	{"collect-down-rename", "SIGKILL collect; while it is down rotate by rename and write a window", faultCollectDown(rotRename)},
	{"collect-down-copytruncate", "once collect has caught up, SIGKILL it; while it is down copytruncate and write a window", faultCollectDown(rotCopyTruncate)},
	{"collect-down-symlink", "SIGKILL collect; while it is down mv flows.log flows-<t>.log; ln -s flows-<t>.log flows.log; write a window", faultCollectDown(rotSymlink)},
	{"positions-corrupt", "SIGKILL collect, corrupt one positions file, restart", faultPositionsCorrupt},
	{"positions-full", "positions directory full for 10-20 s", faultPositionsFull},
	{"indexer-kill", "SIGKILL one of the 3 indexers, restart it", faultIndexerKill},
	{"indexer-scale", "scale the indexers 3 -> 1 (SIGTERM) for 10-20 s -> 3", faultIndexerScale},
	{"broker-kill", "SIGKILL one Kafka broker for 5-15 s, restart it", faultBrokerKill},
	{"es-outage", "stop Elasticsearch for -es-outage, start it", faultESOutage},
	{"es-429", "restart Elasticsearch with a write queue of 1 (429 storm) for -storm, then normally", faultES429},
}

func faultTypeNames() []string {
	var out []string
	for _, t := range faultTypes {
		out = append(out, t.name)
	}
	return out
}

// schedule returns n fault types: every selected type in turn, in an order
// of the types shuffled by rng (so each comes up n/len times, and the ones
// that come up once more are drawn by rng too), then the whole list
// shuffled by rng.
func schedule(rng *rand.Rand, n int, types []string) []string {
	perm := rng.Perm(len(types))
	out := make([]string, n)
	for i := range out {
		out[i] = types[perm[i%len(types)]]
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// restartCollect starts collect and checks that it is still running 2 s
// later; when it exits, its last log lines go into the fault's notes.
func (c *campaign) restartCollect(ctx context.Context, f *fault) (bool, error) {
	p, err := c.ps.start("collect", 0)
	if err != nil {
		return false, err
	}
	if err := sleep(ctx, 2*time.Second); err != nil {
		return false, err
	}
	if !p.alive() {
		f.notef("collect exited at start (%v): %s", p.err, oneLine(lastLines(readTail(p.log), 3)))
		return false, nil
	}
	return true, nil
}

func faultCollectKill(ctx context.Context, c *campaign, f *fault) error {
	if err := c.ps.kill("collect", 0); err != nil {
		return err
	}
	if err := sleep(ctx, between(c.rng, 500*time.Millisecond, 3*time.Second)); err != nil {
		return err
	}
	return c.mustRestartCollect(ctx, f)
}

func (c *campaign) mustRestartCollect(ctx context.Context, f *fault) error {
	ok, err := c.restartCollect(ctx, f)
	if err == nil && !ok {
		err = errors.New("collect does not start (see notes)")
	}
	return err
}

func faultCollectKillRotation(ctx context.Context, c *campaign, f *fault) error {
	delay := between(c.rng, 0, 400*time.Millisecond)
	c.genMu.Lock()
	used, err := c.in.rotate(rotRename)
	if err == nil {
		err = c.in.writeWindow(c.notAfter)
	}
	c.genMu.Unlock()
	if err != nil {
		return err
	}
	f.notef("rotation %s, kill after %s", used, delay.Round(time.Millisecond))
	if err := sleep(ctx, delay); err != nil {
		return err
	}
	if err := c.ps.kill("collect", 0); err != nil {
		return err
	}
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	return c.mustRestartCollect(ctx, f)
}

// faultCollectDown rotates with mode while collect is down. The generator
// is paused meanwhile, so nothing else writes between the kill and the
// restart.
func faultCollectDown(mode string) func(context.Context, *campaign, *fault) error {
	return func(ctx context.Context, c *campaign, f *fault) error {
		c.genMu.Lock()
		locked := true
		defer func() {
			if locked {
				c.genMu.Unlock()
			}
		}()
		if mode == rotCopyTruncate {
			// Lines collect has not had acknowledged would only be in the
			// unwatched copy: copytruncate loses them by design, so wait.
			if !c.waitCaughtUp(ctx, 30*time.Second) {
				f.notef("collect had not caught up within 30 s: rotating by rename instead")
				mode = rotRename
			}
		}
		if err := c.ps.kill("collect", 0); err != nil {
			return err
		}
		used, err := c.in.rotate(mode)
		if err != nil {
			return err
		}
		f.notef("rotation while down: %s", used)
		for range 1 + c.rng.IntN(2) {
			if err := c.in.writeWindow(c.notAfter); err != nil {
				return err
			}
		}
		c.genMu.Unlock()
		locked = false
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
		return c.mustRestartCollect(ctx, f)
	}
}

func (c *campaign) waitCaughtUp(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok, _ := c.in.caughtUp(c.posDir); ok {
			return true
		}
		if sleep(ctx, 250*time.Millisecond) != nil {
			return false
		}
	}
	return false
}

func faultPositionsCorrupt(ctx context.Context, c *campaign, f *fault) error {
	k := pipeline.Kinds[c.rng.IntN(len(pipeline.Kinds))]
	how := []string{"truncated", "garbage", "empty", "bit-flipped"}[c.rng.IntN(4)]
	if err := c.ps.kill("collect", 0); err != nil {
		return err
	}
	path := filepath.Join(c.posDir, string(k)+".positions.json")
	b, err := os.ReadFile(path)
	if err != nil {
		f.notef("no %s positions file to corrupt: %v", k, err)
		return c.mustRestartCollect(ctx, f)
	}
	switch how {
	case "truncated":
		b = b[:len(b)/2]
	case "garbage":
		b = []byte("\x00\x01 not json {{{ \xff")
	case "empty":
		b = nil
	case "bit-flipped":
		if len(b) > 0 {
			i := c.rng.IntN(len(b))
			b[i] ^= 0x20
		}
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		// The positions-full fault may have left the tmpfs without room.
		return fmt.Errorf("corrupting %s: %w", path, err)
	}
	f.notef("%s positions file %s", k, how)
	ok, err := c.restartCollect(ctx, f)
	if err != nil || ok {
		return err
	}
	// What an operator does when collect refuses its positions file.
	aside := path + ".corrupt"
	if err := os.Rename(path, aside); err != nil {
		return err
	}
	f.notef("moved the corrupt file aside (%s) and restarted collect", filepath.Base(aside))
	return c.mustRestartCollect(ctx, f)
}

func faultPositionsFull(ctx context.Context, c *campaign, f *fault) error {
	hold := between(c.rng, 10*time.Second, 20*time.Second)
	switch c.posMode {
	case "tmpfs":
		filler := filepath.Join(c.posDir, "zz-filler")
		n, err := fillDisk(filler)
		if err != nil {
			return err
		}
		f.notef("tmpfs filled (%d bytes of filler) for %s", n, hold.Round(time.Second))
		defer os.Remove(filler)
	default:
		if err := os.Chmod(c.posDir, 0o555); err != nil {
			return err
		}
		f.notef("positions directory read-only (chmod 0555) for %s", hold.Round(time.Second))
		if os.Geteuid() == 0 {
			f.notef("root ignores directory permissions: this fault has no effect when run as root")
		}
		defer os.Chmod(c.posDir, 0o755)
	}
	return sleep(ctx, hold)
}

// fillDisk writes path until the file system is full.
func fillDisk(path string) (int64, error) {
	fh, err := os.Create(path)
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return 0, nil
		}
		return 0, err
	}
	defer fh.Close()
	buf := make([]byte, 64<<10)
	var n int64
	for {
		w, err := fh.Write(buf)
		n += int64(w)
		if err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return n, nil
			}
			return n, err
		}
		if n > 1<<30 {
			return n, errors.New("wrote 1 GiB of filler and the positions directory is not full: not a small tmpfs")
		}
	}
}

func faultIndexerKill(ctx context.Context, c *campaign, f *fault) error {
	slot := 1 + c.rng.IntN(c.indexers)
	f.notef("indexer %d", slot)
	if err := c.ps.kill("index", slot); err != nil {
		return err
	}
	if err := sleep(ctx, between(c.rng, time.Second, 3*time.Second)); err != nil {
		return err
	}
	_, err := c.ps.start("index", slot)
	return err
}

func faultIndexerScale(ctx context.Context, c *campaign, f *fault) error {
	keep := 1 + c.rng.IntN(c.indexers)
	hold := between(c.rng, 10*time.Second, 20*time.Second)
	f.notef("keep indexer %d for %s", keep, hold.Round(time.Second))
	for s := 1; s <= c.indexers; s++ {
		if s != keep {
			if err := c.ps.stop("index", s, time.Minute); err != nil {
				f.notef("%v", err)
			}
		}
	}
	if err := sleep(ctx, hold); err != nil {
		return err
	}
	for s := 1; s <= c.indexers; s++ {
		if _, err := c.ps.start("index", s); err != nil {
			return err
		}
	}
	return nil
}

func faultBrokerKill(ctx context.Context, c *campaign, f *fault) error {
	id := 1 + c.rng.IntN(c.brokers)
	hold := between(c.rng, 5*time.Second, 15*time.Second)
	f.notef("broker %d down for %s + restart", id, hold.Round(time.Second))
	if err := c.svc.killBroker(ctx, id); err != nil {
		return err
	}
	if err := sleep(ctx, hold); err != nil {
		return err
	}
	return c.svc.startBroker(ctx, id)
}

func faultESOutage(ctx context.Context, c *campaign, f *fault) error {
	if err := c.svc.esDown(ctx); err != nil {
		return err
	}
	f.notef("down for %s + restart", c.esOutage)
	if err := sleep(ctx, c.esOutage); err != nil {
		return err
	}
	return c.svc.esUp(ctx, "")
}

func faultES429(ctx context.Context, c *campaign, f *fault) error {
	if err := c.svc.esRestart(ctx, "1"); err != nil {
		return err
	}
	f.notef("write queue 1 for %s", c.storm)
	if err := sleep(ctx, c.storm); err != nil {
		return err
	}
	return c.svc.esRestart(ctx, "")
}

func readTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
