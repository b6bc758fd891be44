package filetail

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// metrics are the tailer's instruments, all with attribute kind.
type metrics struct {
	kindAttr        metric.MeasurementOption
	kind            attribute.KeyValue
	lines           metric.Int64Counter // flowship_filetail_lines_read_total
	bytes           metric.Int64Counter // flowship_filetail_bytes_read_total (newlines included)
	bad             metric.Int64Counter // flowship_filetail_bad_lines_total{reason}
	ackErrors       metric.Int64Counter // flowship_filetail_ack_errors_total
	truncations     metric.Int64Counter // flowship_filetail_truncations_total
	positionsErrors metric.Int64Counter // flowship_filetail_positions_errors_total
	positionResets  metric.Int64Counter // flowship_filetail_position_resets_total{reason}
	fileErrors      metric.Int64Counter // flowship_filetail_file_errors_total{op}
	reg             metric.Registration // files open, checkpoint lag
}

func newMetrics(m metric.Meter, t *Tailer) (*metrics, error) {
	kind := attribute.String("kind", string(t.cfg.Kind))
	ms := &metrics{kind: kind, kindAttr: metric.WithAttributeSet(attribute.NewSet(kind))}
	var err error
	counter := func(name, desc, unit string) metric.Int64Counter {
		c, e := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		if e != nil && err == nil {
			err = e
		}
		return c
	}
	ms.lines = counter("flowship_filetail_lines_read_total", "Lines read and passed on.", "{line}")
	ms.bytes = counter("flowship_filetail_bytes_read_total", "Bytes of lines passed on, newlines included.", "By")
	ms.bad = counter("flowship_filetail_bad_lines_total", "Lines skipped: reason too_long (over max_line_size) or fragment (cut by rotation).", "{line}")
	ms.ackErrors = counter("flowship_filetail_ack_errors_total", "Batches acknowledged with an error; the file position stays before them.", "{batch}")
	ms.truncations = counter("flowship_filetail_truncations_total", "Files found truncated or replaced under the same inode, read again from the start.", "{file}")
	ms.positionsErrors = counter("flowship_filetail_positions_errors_total", "Positions files that could not be read, were corrupt, or could not be written.", "{error}")
	ms.positionResets = counter("flowship_filetail_position_resets_total",
		"Saved positions not used although their file was found: reason beyond_size (the offset is past the end of a file whose first bytes are unchanged; read again from the start).", "{file}")
	ms.fileErrors = counter("flowship_filetail_file_errors_total",
		"Failed attempts to open (op open) or read (op read) a matched file, e.g. for lack of permission; each is retried every poll_interval.", "{error}")
	unreadable, e3 := m.Int64ObservableGauge("flowship_filetail_unreadable_files",
		metric.WithDescription("Matched files whose last open or read failed; they are retried every poll_interval."), metric.WithUnit("{file}"))
	pending, e4 := m.Int64ObservableGauge("flowship_filetail_checkpoint_pending_batches",
		metric.WithDescription("Batches the positions checkpoint still holds: handed on and not yet behind the acknowledged offset, up to a failed one. At most max_inflight_batches; after a failed batch it stops growing until restart."),
		metric.WithUnit("{batch}"))
	open, e1 := m.Int64ObservableGauge("flowship_filetail_open_files", metric.WithDescription("Files held open."), metric.WithUnit("{file}"))
	lag, e2 := m.Int64ObservableGauge("flowship_filetail_checkpoint_lag_bytes",
		metric.WithDescription("Per file: size minus the acknowledged offset."), metric.WithUnit("By"))
	for _, e := range []error{e1, e2, e3, e4} {
		if e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return nil, err
	}
	ms.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(open, t.open.Load(), ms.kindAttr)
		o.ObserveInt64(unreadable, t.failures.n.Load(), ms.kindAttr)
		t.mu.Lock()
		defer t.mu.Unlock()
		held := 0
		for _, r := range t.files {
			held += r.cp.Pending()
		}
		o.ObserveInt64(pending, int64(held), ms.kindAttr)
		for _, r := range t.files {
			o.ObserveInt64(lag, max(0, r.size.Load()-r.acked().Off),
				metric.WithAttributes(kind, attribute.String("path", r.path)))
		}
		return nil
	}, open, lag, unreadable, pending)
	return ms, err
}

// Reasons a saved position is not used (metric attribute "reason").
const resetBeyondSize = "beyond_size"

func (m *metrics) badLine(reason string) {
	m.bad.Add(context.Background(), 1, metric.WithAttributes(m.kind, attribute.String("reason", reason)))
}

func (m *metrics) unregister() {
	if m.reg != nil {
		_ = m.reg.Unregister()
	}
}
