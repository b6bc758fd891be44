package synth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// rotator appends to dir/<base>.log and rotates it like lumberjack:
// before a write that would pass maxSize, the file is renamed to
// <base>-<time>.log (time as 2006-01-02T15-04-05.000, UTC) and a new one
// is created. The time is the simulated window end, so names are
// reproducible.
type rotator struct {
	dir, base  string
	maxSize    int64
	maxBackups int
	f          *os.File
	size       int64
	now        time.Time // simulated time, for rotated names
	backups    []string
	rotations  int
}

// Write writes p to the live file, rotating first if needed.
func (w *rotator) Write(p []byte) (int, error) {
	if w.f == nil {
		if err := w.open(); err != nil {
			return 0, err
		}
	}
	if w.size > 0 && w.size+int64(len(p)) > w.maxSize {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	return n, err
}

func (w *rotator) live() string { return filepath.Join(w.dir, w.base+".log") }

func (w *rotator) open() error {
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", w.dir, err)
	}
	f, err := os.OpenFile(w.live(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", w.live(), err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat %s: %w", w.live(), err)
	}
	w.f, w.size = f, fi.Size()
	return nil
}

func (w *rotator) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", w.live(), err)
	}
	w.f = nil
	t := w.now.UTC()
	var name string
	for {
		name = filepath.Join(w.dir, w.base+"-"+t.Format("2006-01-02T15-04-05.000")+".log")
		if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) {
			break
		}
		t = t.Add(time.Millisecond)
	}
	w.now = t.Add(time.Millisecond)
	if err := os.Rename(w.live(), name); err != nil {
		return fmt.Errorf("rotate %s: %w", w.live(), err)
	}
	w.rotations++
	w.backups = append(w.backups, name)
	for w.maxBackups > 0 && len(w.backups) > w.maxBackups {
		if err := os.Remove(w.backups[0]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove old %s: %w", w.backups[0], err)
		}
		w.backups = slices.Delete(w.backups, 0, 1)
	}
	return w.open()
}

// Close closes the live file.
func (w *rotator) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// lineBuffer gathers whole lines and hands them to w in chunks of at most
// size bytes (a longer line alone), so files rotate on line boundaries.
type lineBuffer struct {
	w    *rotator
	buf  []byte
	size int
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	if len(b.buf)+len(p) > b.size {
		if err := b.Flush(); err != nil {
			return 0, err
		}
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lineBuffer) Flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}
