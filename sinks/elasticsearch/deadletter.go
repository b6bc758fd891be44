package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/flowship/flowship/pipeline"
)

// DeadLetter is the JSON value of a dead-lettered record (see the package
// documentation). Consumers of the dead-letter topic decode it to learn
// why Elasticsearch refused the document and to re-submit it.
type DeadLetter struct {
	// Index is the daily index the document was meant for.
	Index string `json:"index"`
	// Status is the HTTP status of the item (or of the single-document
	// request); 0 when the record was refused before any request.
	Status int `json:"status"`
	// ErrorType is Elasticsearch's error.type, e.g.
	// "document_parsing_exception"; "flowship_invalid_record" for records
	// with no kind, time, _id or document.
	ErrorType string `json:"error_type"`
	// Reason is Elasticsearch's error.reason.
	Reason string `json:"reason"`
	// Document is the original document when it is valid JSON.
	Document json.RawMessage `json:"document,omitempty"`
	// DocumentText holds the original bytes as a string when they are not
	// valid JSON (Document is then absent).
	DocumentText string `json:"document_text,omitempty"`
}

// envelope returns the dead-letter JSON value for d.
func (s *Sink) envelope(d deadItem) ([]byte, error) {
	dl := DeadLetter{Status: d.res.Status, ErrorType: d.res.ErrorType, Reason: d.res.Reason}
	if d.rec.Kind.Valid() && !d.rec.Time.IsZero() {
		dl.Index = s.cfg.Naming.Index(d.rec.Kind, d.rec.Time)
	}
	if json.Valid(d.rec.Value) {
		dl.Document = d.rec.Value
	} else {
		dl.DocumentText = string(d.rec.Value)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(dl); err != nil {
		return nil, fmt.Errorf("elasticsearch: encoding dead-letter envelope for _id %q: %w", d.rec.ID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
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
