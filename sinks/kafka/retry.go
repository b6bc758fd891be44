package kafka

import (
	"context"
	"errors"
	"net"
	"sync"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
)

// retryGroup is one partition batch kafka-go gave up on.
type retryGroup struct {
	msgs []kafkago.Message
	err  error
}

// retryQueue hands failed groups from kafka-go's completion goroutines to
// the retry loop. push never blocks, so kafka-go's goroutines (and Close)
// never wait on flowship; the queue is bounded by max_inflight_batches
// because every group belongs to an in-flight batch.
type retryQueue struct {
	mu     sync.Mutex
	groups []retryGroup
	signal chan struct{} // capacity 1: "groups is not empty"
}

func (q *retryQueue) init() { q.signal = make(chan struct{}, 1) }

func (q *retryQueue) push(g retryGroup) {
	q.mu.Lock()
	q.groups = append(q.groups, g)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pop returns the oldest group, waiting for one until ctx ends.
func (q *retryQueue) pop(ctx context.Context) (retryGroup, bool) {
	for {
		q.mu.Lock()
		if len(q.groups) > 0 {
			g := q.groups[0]
			q.groups[0] = retryGroup{}
			q.groups = q.groups[1:]
			q.mu.Unlock()
			return g, true
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-ctx.Done():
			return retryGroup{}, false
		}
	}
}

// retryLoop re-sends what kafka-go gave up on, one group at a time, in
// the order the groups failed.
func (w *Writer) retryLoop(ctx context.Context) {
	for {
		g, ok := w.retries.pop(ctx)
		if !ok {
			return
		}
		if isTooLarge(g.err) && len(g.msgs) > 1 {
			// The broker refused the record batch; find the message(s) it
			// cannot take by sending each alone.
			for _, m := range g.msgs {
				w.resend(ctx, []kafkago.Message{m})
			}
			continue
		}
		w.resend(ctx, g.msgs)
	}
}

// resend writes msgs synchronously until each is written or dead-lettered,
// or ctx ends. A message refused as too large on its own is dead-lettered;
// in company it is tried again alone.
func (w *Writer) resend(ctx context.Context, msgs []kafkago.Message) {
	pending := msgs
	_ = pipeline.Retry(ctx, w.cfg.Retry.backoff(), func(ctx context.Context) error {
		err := w.rw.WriteMessages(ctx, pending...)
		if err == nil {
			w.health.ok()
			w.writtenMixed(pending)
			return nil
		}
		var werrs kafkago.WriteErrors
		if !errors.As(err, &werrs) || len(werrs) != len(pending) {
			return err
		}
		var ok, failed []kafkago.Message
		var last error
		for i, e := range werrs {
			switch {
			case e == nil:
				ok = append(ok, pending[i])
			case isTooLarge(e) && len(pending) == 1:
				w.tooLargeAlone(pending[i], e)
			case isTooLarge(e):
				w.resend(ctx, pending[i:i+1])
			default:
				failed, last = append(failed, pending[i]), e
			}
		}
		w.writtenMixed(ok)
		pending = failed
		if len(failed) == 0 {
			return nil
		}
		return last
	}, func(_ int, err error) { w.m.errors.Add(ctx, 1, reasonAttr(w.health.fail(err))) })
	// An error here means ctx ended; shutdown fails the pending batches.
}

// tooLargeAlone dead-letters m, which the broker refused on its own.
func (w *Writer) tooLargeAlone(m kafkago.Message, err error) {
	w.deadLetter([]kafkago.Message{m}, "too_large", "the broker refused the message as too large: "+err.Error()+
		"; raise the topic's max.message.bytes or lower kafka.max_message_bytes")
}

// writtenMixed counts and settles msgs that may span partitions and topics.
func (w *Writer) writtenMixed(msgs []kafkago.Message) {
	for len(msgs) > 0 {
		n := 1
		for n < len(msgs) && msgs[n].Topic == msgs[0].Topic {
			n++
		}
		w.written(msgs[:n])
		msgs = msgs[n:]
	}
}

// abortableTransport fails every request at once after ctx ends, so that
// kafka-go's Close, which otherwise retries pending batches to the end,
// returns promptly at shutdown.
type abortableTransport struct {
	rt  kafkago.RoundTripper
	ctx context.Context
}

var errAborted = errors.New("kafka writer shutting down")

// RoundTrip forwards to the wrapped transport unless the writer is aborting.
func (a *abortableTransport) RoundTrip(ctx context.Context, addr net.Addr, req kafkago.Request) (kafkago.Response, error) {
	if a.ctx.Err() != nil {
		return nil, errAborted
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(a.ctx, cancel)
	defer stop()
	return a.rt.RoundTrip(ctx, addr, req)
}
