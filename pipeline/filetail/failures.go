package filetail

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// What failed on a file (metric attribute "op").
const (
	opOpen       = "open"
	opRead       = "read"
	opDeadLetter = "dead_letter" // writing a skipped line to the dead-letter log
)

// failureLogEvery is how often a file that keeps failing is logged again.
const failureLogEvery = time.Minute

// fileFailure is a file that could not be opened or read.
type fileFailure struct {
	since    time.Time // first failure of this run of failures
	logged   time.Time // last log line about it
	attempts int       // failed attempts since logged
}

// failures are the files that currently fail, by path. Read loop only;
// the number is published for the unreadable-files gauge.
type failures struct {
	byPath map[string]*fileFailure
	n      atomic.Int64
}

// fileError counts a failed attempt to open or read path and logs it the
// first time and then at most every failureLogEvery: the file is tried
// again every poll_interval, and nothing of it is lost meanwhile.
func (t *Tailer) fileError(path, op string, err error) {
	t.m.fileErrors.Add(context.Background(), 1, metric.WithAttributes(t.m.kind, attribute.String("op", op)))
	now := time.Now()
	f := t.failures.byPath[path]
	if f == nil {
		f = &fileFailure{since: now}
		t.failures.byPath[path] = f
		t.failures.n.Store(int64(len(t.failures.byPath)))
	}
	f.attempts++
	if !f.logged.IsZero() && now.Sub(f.logged) < failureLogEvery {
		return
	}
	t.log.Error("cannot "+op+" file; retrying every poll_interval, its lines wait (check its permissions)",
		"file", path, "err", err, "failing_for", now.Sub(f.since).Round(time.Second),
		"attempts", f.attempts, "poll_interval", t.cfg.PollInterval)
	f.logged, f.attempts = now, 0
}

// fileOK records that path was opened or read again after failures.
func (t *Tailer) fileOK(path string) {
	f := t.failures.byPath[path]
	if f == nil {
		return
	}
	delete(t.failures.byPath, path)
	t.failures.n.Store(int64(len(t.failures.byPath)))
	t.log.Info("file readable again", "file", path, "failed_for", time.Since(f.since).Round(time.Second))
}

// forget drops failures of paths the patterns no longer match.
func (fs *failures) forget(paths []string) {
	if len(fs.byPath) == 0 {
		return
	}
	keep := make(map[string]bool, len(paths))
	for _, p := range paths {
		keep[p] = true
	}
	for p := range fs.byPath {
		if !keep[p] {
			delete(fs.byPath, p)
		}
	}
	fs.n.Store(int64(len(fs.byPath)))
}
