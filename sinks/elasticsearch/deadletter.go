package elasticsearch

import (
	"context"
	"fmt"

	"github.com/flowship/flowship/pipeline"
)

// envelope returns the dead-letter value for d: its RejectedDocument.
func (s *Sink) envelope(d deadItem) ([]byte, error) {
	var index string
	if d.rec.Kind.Valid() && !d.rec.Time.IsZero() {
		index = s.cfg.Naming.Index(d.rec.Kind, d.rec.Time)
	}
	v, err := newRejectedDocument(index, d.res, d.rec.Value).Encode()
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: encoding the rejected-document envelope for _id %q: %w", d.rec.ID, err)
	}
	return v, nil
}

// deliverDead hands w.dead to the dead-letter consumer as one batch whose
// Ack completes the group's ack; with nothing dead it acks the group now.
// The dead-letter records keep every field of the original (Kind, Key, ID,
// Time, Node, Source, Offset, Line) and carry the envelope as Value.
func (w *worker) deliverDead(ctx context.Context, ack pipeline.Ack) {
	n := len(w.dead)
	if n == 0 {
		ack(nil)
		return
	}
	recs := make([]pipeline.Record, 0, n)
	for _, d := range w.dead {
		v, err := w.s.envelope(d)
		if err != nil {
			w.s.m.items(ctx, failedLabel, n)
			ack(err)
			return
		}
		r := *d.rec
		r.Value = v
		recs = append(recs, r)
	}
	w.s.warnDead(w.dead[0], n)
	m := w.s.m
	err := w.s.dlq.Consume(ctx, pipeline.Batch{Records: recs, Ack: func(err error) {
		if err != nil {
			m.items(ctx, failedLabel, n)
			ack(fmt.Errorf("elasticsearch: dead-letter consumer failed for %d rejected documents; they will be replayed: %w", n, err))
			return
		}
		m.deadLetter.Add(context.WithoutCancel(ctx), int64(n))
		ack(nil)
	}})
	if err != nil {
		w.s.m.items(ctx, failedLabel, n)
		ack(fmt.Errorf("elasticsearch: handing %d rejected documents to the dead-letter consumer: %w", n, err))
	}
}
