package filetail

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/flowship/flowship/pipeline"
)

// deadLetterWriter is what the tailer writes skipped lines to.
type deadLetterWriter interface {
	Write(pipeline.DeadLetterEntry) error
}

// SetDeadLetter makes the tailer write every line it skips for being
// longer than max_line_size to d (a sample, the file, offset and reason).
// Call it before Run. Without it, such lines are only counted and logged.
func (t *Tailer) SetDeadLetter(d *pipeline.DeadLetterLog) {
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
	sample := make([]byte, min(n, pipeline.DeadLetterSample))
	if r.f != nil {
		got, _ := r.f.ReadAt(sample, at.Off)
		sample = sample[:got]
	}
	truncated := int64(len(sample)) < n
	err := t.deadLetter.Write(pipeline.DeadLetterEntry{
		Kind: t.cfg.Kind, File: r.path, Line: at.Line, Offset: at.Off, Bytes: &n, Reason: reason,
		Error:     fmt.Sprintf("line of %d bytes is longer than max_line_size (%d bytes); raise inputs.%s.max_line_size to read such lines", n, int64(t.cfg.MaxLineSize), t.cfg.Kind),
		Raw:       string(sample),
		Truncated: &truncated,
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
