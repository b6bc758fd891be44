package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// DeadLetterSample is how many leading bytes of a line skipped before
// parsing (too long) the dead-letter log keeps.
const DeadLetterSample = 1024

// DeadLetterEntry is one line of the collector's dead-letter log
// (aggregation.dead_letter_log), written by the tailers for the lines
// they skip and by the aggregator for the lines it cannot parse or
// refuses: {"time","kind","file","line","offset","reason","error","raw"},
// plus "bytes" and "truncated" for a skipped line, whose raw holds only
// its first DeadLetterSample bytes.
type DeadLetterEntry struct {
	Time   time.Time `json:"time"`
	Kind   Kind      `json:"kind"`
	File   string    `json:"file"`
	Line   int64     `json:"line"`   // 1-based, 0 when unknown
	Offset int64     `json:"offset"` // byte offset of the line's first byte
	Reason string    `json:"reason"`
	Error  string    `json:"error"` // what went wrong and what to do about it
	// Bytes is the whole line's length without the newline (skipped
	// lines only; nil leaves it out).
	Bytes *int64 `json:"bytes,omitempty"`
	Raw   string `json:"raw"`
	// Truncated says raw is shorter than the line (skipped lines only).
	Truncated *bool `json:"truncated,omitempty"`
}

// ErrDeadLetterClosed is the error of a write after Close.
var ErrDeadLetterClosed = errors.New("dead-letter log is closed")

// DeadLetterLog appends DeadLetterEntry lines to a file. Each entry is
// one write to a file opened for appending, so several logs (a process's
// tailers and aggregator) can share one path. A nil *DeadLetterLog
// discards. Safe for concurrent use.
type DeadLetterLog struct {
	mu sync.Mutex
	f  *os.File
}

// OpenDeadLetterLog opens (creates) path for appending. Callers prefix
// the error with their config key.
func OpenDeadLetterLog(path string) (*DeadLetterLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("%w; check that the directory exists and is writable", err)
	}
	return &DeadLetterLog{f: f}, nil
}

// Write appends e (its Time set to now, UTC, when zero).
func (d *DeadLetterLog) Write(e DeadLetterEntry) error {
	if d == nil {
		return nil
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return ErrDeadLetterClosed
	}
	_, err = d.f.Write(append(b, '\n'))
	return err
}

// Close closes the file; later writes answer ErrDeadLetterClosed.
func (d *DeadLetterLog) Close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close() // appends were written; nothing to flush
	d.f = nil
	return err
}
