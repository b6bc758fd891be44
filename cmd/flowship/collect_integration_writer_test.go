//go:build integration

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema/synth"
)

// felixWriter appends Felix-style flows.log bursts (schema/synth lines,
// one burst per simulated ~1m window) to dir/flows.log the way Felix's
// lumberjack logger does: before a write that would pass maxSize the file
// is renamed to flows-<time>.log and a new one is created. Rotated files
// are kept, so the offline run can read everything. Rotation happens on
// line boundaries; inside a file, lines are written in chunks that cut
// lines, so the tailer sees unfinished lines.
type felixWriter struct {
	dir     string
	maxSize int64
	gen     *synth.Generator
	rng     *rand.Rand

	f    *os.File
	size int64
	now  time.Time // simulated time, for rotated names

	rotated []string // rotated files, oldest first
	bad     []string // bad lines mixed in, without their newline
	windows int
	lines   int
}

func newFelixWriter(dir string, seed uint64, maxSize int64) *felixWriter {
	cfg := synth.DefaultConfig()
	cfg.Seed = seed
	cfg.Namespaces, cfg.Workloads, cfg.Nodes = 6, 40, 4
	// ~200KiB per burst: with 192KiB files a burst spans one or two
	// files, so the open buckets hold fewer input batches than the
	// tailer's max_inflight_batches (8). Beyond that the tailer stops
	// reading until an idle flush closes the bucket being filled early,
	// which splits it into parts (never loses or doubles a line).
	cfg.FlowsPerWindow = 200
	// Felix windows of 2m ± 10%: every burst lands in a 1m bucket of its
	// own, so no bucket is still filling when an idle flush closes it.
	cfg.Window = 2 * time.Minute
	cfg.Jitter = true
	cfg.Windows = 0
	return &felixWriter{dir: dir, maxSize: maxSize, gen: synth.New(cfg), rng: rand.New(rand.NewPCG(seed, 2))}
}

func (w *felixWriter) live() string { return filepath.Join(w.dir, "flows.log") }

// run writes windows bursts with pauses of 150ms to 2.5s, longer than
// the idle flush now and then.
func (w *felixWriter) run(ctx context.Context, windows int) error {
	defer w.close()
	for i := range windows {
		win := w.gen.Next(pipeline.KindFlow)
		w.now = win.End
		if err := w.burst(w.withBadLines(win.Flows, i)); err != nil {
			return err
		}
		w.windows++
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(randDuration(w.rng, 150*time.Millisecond, 2500*time.Millisecond)):
		}
	}
	return nil
}

// withBadLines mixes a truncated line into every third window and a line
// of NUL bytes (what a crash can leave in a file) into every fourth.
func (w *felixWriter) withBadLines(lines [][]byte, window int) [][]byte {
	insert := func(b []byte) {
		w.bad = append(w.bad, string(b))
		at := w.rng.IntN(len(lines) + 1)
		lines = append(lines[:at], append([][]byte{append(b, '\n')}, lines[at:]...)...)
	}
	if window%3 == 1 {
		l := lines[w.rng.IntN(len(lines))]
		insert(bytes.Clone(l[:len(l)/2]))
	}
	if window%4 == 2 {
		insert(bytes.Repeat([]byte{0}, 40+window))
	}
	return lines
}

// burst writes lines, rotating between two lines when the next would
// take the file past maxSize.
func (w *felixWriter) burst(lines [][]byte) error {
	var seg []byte
	for _, l := range lines {
		if pending := w.size + int64(len(seg)); pending > 0 && pending+int64(len(l)) > w.maxSize {
			if err := w.write(seg); err != nil {
				return err
			}
			seg = seg[:0]
			if err := w.rotate(); err != nil {
				return err
			}
		}
		seg = append(seg, l...)
		w.lines++
	}
	return w.write(seg)
}

// write appends b to the live file in chunks of 1 to 32KiB, pausing a
// few milliseconds between some of them.
func (w *felixWriter) write(b []byte) error {
	if w.f == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	for len(b) > 0 {
		n := min(len(b), 1<<10+w.rng.IntN(31<<10))
		if _, err := w.f.Write(b[:n]); err != nil {
			return fmt.Errorf("write %s: %w", w.live(), err)
		}
		w.size += int64(n)
		b = b[n:]
		if w.rng.IntN(3) == 0 {
			time.Sleep(time.Duration(w.rng.IntN(20)) * time.Millisecond)
		}
	}
	return nil
}

func (w *felixWriter) open() error {
	f, err := os.OpenFile(w.live(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	w.f, w.size = f, 0
	return nil
}

// rotate renames the live file to flows-<simulated time>.log, lumberjack's
// name format, and creates a new live file.
func (w *felixWriter) rotate() error {
	if err := w.f.Close(); err != nil {
		return err
	}
	w.f = nil
	var name string
	for t := w.now.UTC(); ; t = t.Add(time.Millisecond) {
		name = filepath.Join(w.dir, "flows-"+t.Format("2006-01-02T15-04-05.000")+".log")
		if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err := os.Rename(w.live(), name); err != nil {
		return err
	}
	w.rotated = append(w.rotated, name)
	return w.open()
}

func (w *felixWriter) close() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}
