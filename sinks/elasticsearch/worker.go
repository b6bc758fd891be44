package elasticsearch

import (
	"bytes"
	"context"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/flowship/flowship/pipeline"
)

// worker owns one bulk request at a time. It collects whole batches into a
// group, settles every document of the group (retrying only those that
// need it), hands the permanently rejected ones to the dead-letter
// consumer, and acks the group's batches once. Its buffers are reused
// across groups.
type worker struct {
	s       *Sink
	id      int                // index into s.waits
	waits   waitCounts         // documents of this round waiting for an operator
	stop    waitReason         // why a whole-request failure stopped the round
	recs    []*pipeline.Record // the current group, pointing into its batches
	bytes   int                // estimated body size of recs
	bufA    []*pipeline.Record // pending/again, swapped each round
	bufB    []*pipeline.Record
	dead    []deadItem
	body    []byte
	zbody   bytes.Buffer // body gzipped, when compress is on
	zw      *gzip.Writer
	hits    hitsCache // rendered policy traces
	resp    []byte
	results []itemResult
}

// deadItem is a document bound for the dead-letter consumer.
type deadItem struct {
	rec *pipeline.Record
	res itemResult
}

func newWorker(s *Sink, id int) *worker { return &worker{s: s, id: id} }

// run collects and settles groups until ctx ends.
func (w *worker) run(ctx context.Context) {
	for {
		acks, ok := w.collect(ctx)
		if !ok {
			return
		}
		w.settle(ctx, pipeline.Merge(acks...))
		clear(w.recs) // drop references to acked batches
		w.recs = w.recs[:0]
	}
}

// collect waits for a batch, then adds queued batches until the group
// reaches bulk_actions or bulk_bytes or flush_interval has passed since the
// first one. Batches are never split across groups. It returns false when
// ctx ends before a batch arrives.
func (w *worker) collect(ctx context.Context) ([]pipeline.Ack, bool) {
	var acks []pipeline.Ack
	w.bytes = 0
	select {
	case b := <-w.s.queue:
		acks = w.add(acks, b)
	case <-ctx.Done():
		return nil, false
	}
	linger := w.s.cfg.FlushInterval
	var timeout <-chan time.Time
	if linger > 0 {
		t := time.NewTimer(linger)
		defer t.Stop()
		timeout = t.C
	}
	for !w.full() {
		if linger == 0 {
			select {
			case b := <-w.s.queue:
				acks = w.add(acks, b)
				continue
			default:
				return acks, true
			}
		}
		select {
		case b := <-w.s.queue:
			acks = w.add(acks, b)
		case <-timeout:
			return acks, true
		case <-ctx.Done():
			return acks, true // settle acks the group with the shutdown error
		}
	}
	return acks, true
}

func (w *worker) add(acks []pipeline.Ack, b pipeline.Batch) []pipeline.Ack {
	for i := range b.Records {
		r := &b.Records[i]
		w.recs = append(w.recs, r)
		w.bytes += len(r.Value) + len(r.ID) + 80 // 80: action line without the _id
	}
	return append(acks, b.Ack)
}

func (w *worker) full() bool {
	return len(w.recs) >= w.s.cfg.BulkActions || w.bytes >= int(w.s.cfg.BulkBytes)
}

// settle indexes every document of the current group, retrying those
// Elasticsearch could not take until they are done or ctx ends, then
// dead-letters the rejected ones and calls ack exactly once.
func (w *worker) settle(ctx context.Context, ack pipeline.Ack) {
	w.dead = w.dead[:0]
	pending := w.bufA[:0]
	for _, r := range w.recs {
		if err := checkRecord(r); err != nil {
			w.dead = append(w.dead, deadItem{rec: r, res: itemResult{
				outcome: outcomeDeadLetter, ErrorType: "flowship_invalid_record", Reason: err.Error()}})
			continue
		}
		pending = append(pending, r)
	}
	w.s.m.items(ctx, "dead_lettered", len(w.dead))
	defer func() {
		// Keep the storage, drop the references into acked batches.
		w.bufA = pending[:0]
		clear(w.bufA[:cap(w.bufA)])
		clear(w.bufB[:cap(w.bufB)])
		clear(w.dead[:cap(w.dead)])
	}()
	attempt, backoff := 0, w.s.backoff()
	defer func() { w.s.waits.set(w.id, waitCounts{}, time.Now()) }()
	for len(pending) > 0 {
		if ctx.Err() != nil {
			w.fail(ctx, ack, len(pending))
			return
		}
		w.waits = waitCounts{}
		again, progressed := w.round(ctx, pending, w.bufB[:0])
		w.s.waits.set(w.id, w.waits, time.Now())
		if w.waits != (waitCounts{}) {
			w.s.warnWaiting(w.waits)
		}
		w.bufB = pending[:0] // the old pending's storage takes the next round's retries
		pending = again
		if len(pending) == 0 {
			break
		}
		if progressed {
			attempt = 0
		}
		attempt++
		w.s.m.retries.Add(context.WithoutCancel(ctx), 1)
		t := time.NewTimer(backoff.Delay(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			w.fail(ctx, ack, len(pending))
			return
		case <-t.C:
		}
	}
	if attempt >= 3 {
		w.s.tel.Logger.Info("elasticsearch: indexing again after retries", "retry_rounds", attempt)
	}
	w.deliverDead(ctx, ack)
}

// fail acks the group with the shutdown error; n documents were still
// waiting for Elasticsearch.
func (w *worker) fail(ctx context.Context, ack pipeline.Ack, n int) {
	w.s.m.items(ctx, failedLabel, n+len(w.dead))
	ack(stoppedError(ctx, n+len(w.dead)))
}

// round sends every pending document once, in requests of at most
// bulk_actions documents and bulk_bytes bytes, and appends to again the
// documents to send in the next round. After a whole-request failure
// (Elasticsearch unreachable, overloaded or refusing the credentials) it
// sends nothing more this round. progressed reports whether any document
// was settled.
func (w *worker) round(ctx context.Context, pending, again []*pipeline.Record) ([]*pipeline.Record, bool) {
	progressed := false
	for start := 0; start < len(pending); {
		end := start + w.fill(pending[start:])
		var ok, p bool
		again, ok, p = w.post(ctx, pending[start:end], again)
		progressed = progressed || p
		if !ok {
			w.waits[w.stop] += len(pending) - end
			return append(again, pending[end:]...), progressed
		}
		start = end
	}
	return again, progressed
}

// fill builds the request body from the longest prefix of items (at least
// one) within the bulk limits and returns its length.
func (w *worker) fill(items []*pipeline.Record) int {
	w.body = w.body[:0]
	maxBytes := int(w.s.cfg.BulkBytes)
	for i, r := range items {
		if i == w.s.cfg.BulkActions {
			return i
		}
		prev := len(w.body)
		w.body = appendCreateCached(w.body, w.s.cfg.Naming, r, &w.hits)
		if len(w.body) > maxBytes && i > 0 {
			w.body = w.body[:prev]
			return i
		}
	}
	return len(items)
}

// build makes the request body from all of items.
func (w *worker) build(items []*pipeline.Record) {
	w.body = w.body[:0]
	for _, r := range items {
		w.body = appendCreateCached(w.body, w.s.cfg.Naming, r, &w.hits)
	}
}
