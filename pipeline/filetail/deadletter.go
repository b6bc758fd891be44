package filetail

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/flowship/flowship/pipeline"
)

// DeadLetterSample is how many leading bytes of a skipped line the
// dead-letter log keeps.
const DeadLetterSample = 1024

// SkippedLine is a line the tailer did not pass on.
type SkippedLine struct {
	Kind   pipeline.Kind
	File   string // path it was read at
	Line   int64  // 1-based line number, 0 when unknown
	Offset int64  // byte offset of its first byte
	Bytes  int64  // its length without the newline
	Reason string // "too_long"
	Err    string // what to do about it
	Sample []byte // its first DeadLetterSample bytes at most
}

// DeadLetterLog appends skipped lines to a file, one JSON object per
// line, in the shape of the aggregator's dead-letter log
// ({"time","kind","file","line","offset","error","raw"}) plus "reason",
// "bytes" and "truncated" (raw holds only the first DeadLetterSample
// bytes). Each entry is one write to a file opened for appending, so it
// can share the file with the aggregator's entries. Safe for concurrent
// use.
type DeadLetterLog struct {
	mu sync.Mutex
	f  *os.File
}

// OpenDeadLetterLog opens (creates) path for appending.
func OpenDeadLetterLog(path string) (*DeadLetterLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("dead-letter log: %w; check that the directory exists and is writable", err)
	}
	return &DeadLetterLog{f: f}, nil
}

type deadLetterEntry struct {
	Time      time.Time     `json:"time"`
	Kind      pipeline.Kind `json:"kind"`
	File      string        `json:"file"`
	Line      int64         `json:"line"`
	Offset    int64         `json:"offset"`
	Error     string        `json:"error"`
	Reason    string        `json:"reason"`
	Bytes     int64         `json:"bytes"`
	Raw       string        `json:"raw"`
	Truncated bool          `json:"truncated"`
}

// Write appends l.
func (d *DeadLetterLog) Write(l SkippedLine) error {
	b, err := json.Marshal(deadLetterEntry{
		Time: time.Now().UTC(), Kind: l.Kind, File: l.File, Line: l.Line, Offset: l.Offset,
		Error: l.Err, Reason: l.Reason, Bytes: l.Bytes, Raw: string(l.Sample),
		Truncated: int64(len(l.Sample)) < l.Bytes,
	})
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return fmt.Errorf("dead-letter log is closed")
	}
	_, err = d.f.Write(append(b, '\n'))
	return err
}

// Close closes the file.
func (d *DeadLetterLog) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}

// deadLetterWriter is what the tailer writes skipped lines to.
type deadLetterWriter interface {
	Write(SkippedLine) error
}

// SetDeadLetter makes the tailer write every line it skips for being
// longer than max_line_size to d (a sample, the file, offset and reason).
// Call it before Run. Without it, such lines are only counted and logged.
func (t *Tailer) SetDeadLetter(d *DeadLetterLog) {
	if d != nil {
		t.deadLetter = d
	}
}

// deadLetterLine writes the over-long line at..next of r to the
// dead-letter log, if one is set. A failed write is counted (file_errors
// op dead_letter) and logged the first time and then once a minute.
func (t *Tailer) deadLetterLine(r *tracked, reason string, at, next pos) {
	if t.deadLetter == nil {
		return
	}
	n := next.Off - at.Off - 1 // without the newline
	sample := make([]byte, min(n, DeadLetterSample))
	if r.f != nil {
		got, _ := r.f.ReadAt(sample, at.Off)
		sample = sample[:got]
	}
	err := t.deadLetter.Write(SkippedLine{
		Kind: t.cfg.Kind, File: r.path, Line: at.Line, Offset: at.Off, Bytes: n, Reason: reason,
		Err:    fmt.Sprintf("line of %d bytes is longer than max_line_size (%d bytes); raise inputs.%s.max_line_size to read such lines", n, int64(t.cfg.MaxLineSize), t.cfg.Kind),
		Sample: sample,
	})
	if err == nil {
		return
	}
	t.m.fileErrors.Add(context.Background(), 1, metric.WithAttributes(t.m.kind, attribute.String("op", opDeadLetter)))
	if now := time.Now(); now.Sub(t.deadLetterLogged) >= failureLogEvery {
		t.deadLetterLogged = now
		t.log.Error("cannot write a skipped line to the dead-letter log; it is still counted and skipped",
			"file", r.path, "offset", at.Off, "err", err)
	}
}
