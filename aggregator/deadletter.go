package aggregator

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// badLog rate-limits bad-line log messages per kind: at most
// badLogBurst per minute, then one summary count with the next message.
type badLog struct {
	since      time.Time
	n          int
	suppressed int
	dlqFailed  bool
}

const badLogBurst = 10

// allow reports whether a message may be logged now and how many were
// suppressed before it.
func (b *badLog) allow(now time.Time) (bool, int) {
	if now.Sub(b.since) >= time.Minute {
		b.since, b.n = now, 0
	}
	if b.n >= badLogBurst {
		b.suppressed++
		return false, 0
	}
	b.n++
	s := b.suppressed
	b.suppressed = 0
	return true, s
}

// deadLetter appends unparseable lines and lines outside the event-time
// window to a file, one JSON object per line:
// {"time","kind","file","line","offset","reason","error","raw"}. A nil
// *deadLetter discards.
type deadLetter struct {
	mu sync.Mutex
	f  *os.File
}

func openDeadLetter(path string) (*deadLetter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("aggregator.dead_letter_log: %w; check that the directory exists and is writable", err)
	}
	return &deadLetter{f: f}, nil
}

type deadLetterEntry struct {
	Time   time.Time     `json:"time"`
	Kind   pipeline.Kind `json:"kind"`
	File   string        `json:"file"`
	Line   int64         `json:"line"`
	Offset int64         `json:"offset"`
	Reason string        `json:"reason"`
	Error  string        `json:"error"`
	Raw    string        `json:"raw"`
}

func (d *deadLetter) write(k pipeline.Kind, r *pipeline.Record, reason string, cause error) error {
	if d == nil {
		return nil
	}
	b, err := json.Marshal(deadLetterEntry{
		Time: time.Now().UTC(), Kind: k, File: r.Source, Line: r.Line, Offset: r.Offset,
		Reason: reason, Error: cause.Error(), Raw: string(r.Value),
	})
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	_, err = d.f.Write(append(b, '\n'))
	return err
}

func (d *deadLetter) close() {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f != nil {
		_ = d.f.Close() // appends were written; nothing to flush
		d.f = nil
	}
}
