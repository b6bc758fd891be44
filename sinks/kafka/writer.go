package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
)

// ErrWriterStopped is returned by Consume once Run has ended.
var ErrWriterStopped = errors.New("kafka writer stopped")

// Writer produces document Records to their kind's topic. It is the last
// stage of the collector and implements pipeline.Consumer.
//
// Delivery: RequiredAcks=all; a Batch is acked with nil exactly once, after
// Kafka acknowledged every record of it (or the record was dead-lettered
// because Kafka can never accept it). Failed writes are retried without
// limit until Run's ctx ends; then every unacknowledged Batch is acked with
// an error so the source replays it.
//
// Ordering: a single goroutine hands batches to kafka-go in Consume order,
// kafka-go keeps one produce request in flight per partition and retries it
// (max_attempts) before sending the next, and the key picks the partition
// (murmur2, the Java client's default partitioner). So records of one key
// reach their partition in order. Only when kafka-go gives up on a batch
// does flowship's own retry re-send it, possibly after later batches of the
// same partition; consumers dedupe on the id header, never on order.
//
// Idempotence: kafka-go's Writer has no idempotent producer (no producer
// id or sequence numbers), so a produce whose response was lost is sent
// again and stored twice. Documents carry a stable _id and the indexer
// writes with create, so a duplicate costs a 409, not a second document.
//
// Memory: at most max_inflight_batches batches are held; Consume blocks
// when they are all in flight (backpressure).
type Writer struct {
	cfg    Config
	log    *slog.Logger
	m      *writerMetrics
	health *health
	dl     *deadLetterLog

	kw    *kafkago.Writer // asynchronous, ordered per partition
	rw    *kafkago.Writer // synchronous, for flowship's own retries
	abort context.CancelFunc
	tr    *kafkago.Transport
	kinds map[string]pipeline.Kind // topic → kind

	slots   chan struct{} // one token per in-flight batch
	queue   chan *tracker // accepted, not yet handed to kafka-go
	retries retryQueue    // partition batches kafka-go gave up on

	mu      sync.Mutex
	live    map[*tracker]struct{}
	stopped bool
	drained chan struct{} // closed when stopped and live is empty
	started atomic.Bool
}

// NewWriter returns a Writer for cfg. It does not connect; Run does.
func NewWriter(cfg Config, tel pipeline.Telemetry) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, err := cfg.Connection.build("kafka.")
	if err != nil {
		return nil, err
	}
	m, err := newWriterMetrics(tel.Meter)
	if err != nil {
		return nil, err
	}
	log := tel.Logger.With("stage", "kafka_writer")
	abortCtx, abort := context.WithCancel(context.Background())
	rt := &abortableTransport{rt: d.transport, ctx: abortCtx}
	w := &Writer{
		cfg:     cfg,
		log:     log,
		m:       m,
		health:  newHealth(log, "writes", cfg.Brokers),
		dl:      &deadLetterLog{path: cfg.DeadLetterLog},
		abort:   abort,
		tr:      d.transport,
		kinds:   map[string]pipeline.Kind{},
		slots:   make(chan struct{}, cfg.MaxInflightBatches),
		queue:   make(chan *tracker, cfg.MaxInflightBatches),
		live:    map[*tracker]struct{}{},
		drained: make(chan struct{}),
	}
	w.retries.init()
	for _, k := range pipeline.Kinds {
		w.kinds[cfg.Topics.For(k)] = k
	}
	w.kw = w.kafkaWriter(d.addr, rt, cfg.Linger)
	w.kw.Async = true
	w.kw.Completion = w.completion
	w.rw = w.kafkaWriter(d.addr, rt, min(cfg.Linger, 5*time.Millisecond))
	return w, nil
}

func (w *Writer) kafkaWriter(addr net.Addr, rt kafkago.RoundTripper, linger time.Duration) *kafkago.Writer {
	return &kafkago.Writer{
		Addr:            addr,
		Balancer:        &kafkago.Murmur2Balancer{},
		MaxAttempts:     w.cfg.MaxAttempts,
		WriteBackoffMin: w.cfg.Retry.Initial,
		WriteBackoffMax: min(w.cfg.Retry.Max, time.Second),
		BatchSize:       w.cfg.BatchSize,
		BatchBytes:      int64(w.cfg.BatchBytes),
		BatchTimeout:    linger,
		ReadTimeout:     w.cfg.WriteTimeout,
		WriteTimeout:    w.cfg.WriteTimeout,
		RequiredAcks:    kafkago.RequireAll,
		Compression:     codecs[w.cfg.Compression],
		Transport:       rt,
		Logger:          kafkaGoLogger(w.log),
		ErrorLogger:     kafkaGoLogger(w.log),
	}
}

// tracker is one accepted Batch: its ack fires once all of its messages
// are settled, or once with an error at shutdown.
type tracker struct {
	w       *Writer
	ack     pipeline.Ack
	msgs    []kafkago.Message
	left    atomic.Int64
	start   time.Time
	settled atomic.Bool
}

// done settles n of t's messages.
func (t *tracker) done(n int) {
	if t.left.Add(-int64(n)) == 0 {
		t.settle(nil)
	}
}

func (t *tracker) settle(err error) {
	if !t.settled.CompareAndSwap(false, true) {
		return
	}
	w := t.w
	w.mu.Lock()
	delete(w.live, t)
	if w.stopped && len(w.live) == 0 {
		select {
		case <-w.drained:
		default:
			close(w.drained)
		}
	}
	w.mu.Unlock()
	<-w.slots
	w.m.inflight.Add(context.Background(), -1)
	if err == nil {
		w.m.latency.Record(context.Background(), time.Since(t.start).Seconds())
	}
	t.ack(err)
}

// Consume accepts b for writing. It blocks while max_inflight_batches
// batches are in flight and returns ctx.Err() if ctx ends first, or
// ErrWriterStopped once Run has ended; the batch then stays with the
// caller. Records must be documents (Kind, Key, ID, Time, Value set); their
// byte slices are used until the batch is acked.
func (w *Writer) Consume(ctx context.Context, b pipeline.Batch) error {
	if len(b.Records) == 0 {
		b.Ack(nil)
		return nil
	}
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	now := time.Now()
	t := &tracker{w: w, ack: b.Ack, start: now, msgs: make([]kafkago.Message, len(b.Records))}
	for i, r := range b.Records {
		m := ToMessage(r, w.cfg.Topics.For(r.Kind))
		m.Time = now
		m.WriterData = t
		t.msgs[i] = m
	}
	t.left.Store(int64(len(t.msgs)))
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		<-w.slots
		return ErrWriterStopped
	}
	w.live[t] = struct{}{}
	w.queue <- t // never blocks: queue and slots have the same capacity
	w.mu.Unlock()
	w.m.inflight.Add(ctx, 1)
	return nil
}

// Run writes accepted batches until ctx ends. Then it stops accepting,
// lets in-flight batches finish for up to flush_timeout, aborts the rest
// and acks every batch not acknowledged by Kafka with an error. It
// returns nil after a shutdown through ctx.
func (w *Writer) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("kafka writer: Run called twice")
	}
	retryCtx, stopRetry := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { w.retryLoop(retryCtx) })
	for {
		select {
		case t := <-w.queue:
			w.dispatch(ctx, t)
			continue
		case <-ctx.Done():
		}
		break
	}
	w.shutdown(stopRetry, &wg)
	return nil
}

func (w *Writer) shutdown(stopRetry context.CancelFunc, wg *sync.WaitGroup) {
	stopped := fmt.Errorf("%w before Kafka acknowledged the batch; the source replays it", ErrWriterStopped)
	w.mu.Lock()
	w.stopped = true
	if len(w.live) == 0 {
		close(w.drained)
	}
	w.mu.Unlock()
	for {
		select {
		case t := <-w.queue: // never handed to kafka-go
			t.settle(stopped)
			continue
		default:
		}
		break
	}
	timer := time.NewTimer(w.cfg.FlushTimeout)
	select {
	case <-w.drained:
	case <-timer.C:
	}
	timer.Stop()
	stopRetry()
	w.abort()
	wg.Wait()
	w.kw.Close() // aborted transport: pending batches fail fast
	w.rw.Close()
	w.tr.CloseIdleConnections()
	w.mu.Lock()
	rest := make([]*tracker, 0, len(w.live))
	for t := range w.live {
		rest = append(rest, t)
	}
	w.mu.Unlock()
	for _, t := range rest {
		t.settle(stopped)
	}
	if len(rest) > 0 {
		w.log.Warn("kafka: shut down with batches not yet acknowledged by Kafka; the source replays them",
			"batches", len(rest))
	}
}

// Close releases the dead-letter log. Call it after Run has returned.
func (w *Writer) Close() error {
	if !w.started.Load() {
		w.abort()
		w.kw.Close()
		w.rw.Close()
		w.tr.CloseIdleConnections()
	}
	return w.dl.close()
}

// dispatch hands t to kafka-go, retrying until ctx ends if kafka-go
// refuses it (no metadata, unknown topic, unreachable brokers).
func (w *Writer) dispatch(ctx context.Context, t *tracker) {
	send := t.msgs
	if slices.ContainsFunc(send, w.unsendable) {
		send = w.route(send)
		if len(send) == 0 {
			return
		}
	}
	_ = pipeline.Retry(ctx, w.cfg.Retry.backoff(), func(ctx context.Context) error {
		c, cancel := context.WithTimeout(ctx, w.cfg.WriteTimeout)
		defer cancel()
		return w.kw.WriteMessages(c, send...)
	}, func(_ int, err error) { w.m.errors.Add(ctx, 1, reasonAttr(w.health.fail(err))) })
	// An error here means ctx ended; shutdown fails t.
}

// route dead-letters the messages Kafka could never take and returns a
// new slice of the others.
func (w *Writer) route(msgs []kafkago.Message) []kafkago.Message {
	var send, tooBig, noTopic []kafkago.Message
	for _, m := range msgs {
		switch {
		case m.Topic == "":
			noTopic = append(noTopic, m)
		case w.unsendable(m):
			tooBig = append(tooBig, m)
		default:
			send = append(send, m)
		}
	}
	if len(tooBig) > 0 {
		w.deadLetter(tooBig, "too_large", fmt.Sprintf("message larger than kafka.max_message_bytes (%s)", w.cfg.MaxMessageBytes))
	}
	if len(noTopic) > 0 {
		w.deadLetter(noTopic, "no_topic", "record kind has no topic; only flows, l7 and dns are produced")
	}
	return send
}

func (w *Writer) unsendable(m kafkago.Message) bool {
	return m.Topic == "" || messageSize(m) > int(w.cfg.MaxMessageBytes)
}

// deadLetter writes msgs to the dead-letter log and settles them.
func (w *Writer) deadLetter(msgs []kafkago.Message, reason, detail string) {
	if err := w.dl.write(msgs, detail); err != nil {
		for _, m := range msgs {
			w.log.Error("kafka: could not write a message Kafka cannot accept to the dead-letter log; it is dropped",
				"error", err.Error(), "topic", m.Topic, "id", headerValue(m, HeaderID), "size", messageSize(m), "reason", detail)
		}
	} else {
		w.log.Warn("kafka: dead-lettered messages Kafka cannot accept", "count", len(msgs),
			"reason", detail, "file", w.cfg.DeadLetterLog, "first_id", headerValue(msgs[0], HeaderID))
	}
	w.m.deadLetter.Add(context.Background(), int64(len(msgs)), reasonAttr(reason))
	settleMessages(msgs)
}

// completion is kafka-go's callback for one partition batch.
func (w *Writer) completion(msgs []kafkago.Message, err error) {
	if len(msgs) == 0 {
		return
	}
	if err != nil {
		w.m.errors.Add(context.Background(), 1, reasonAttr(w.health.fail(err)))
		w.retries.push(retryGroup{msgs: msgs, err: err})
		return
	}
	w.health.ok()
	w.written(msgs)
}

// written counts msgs, which kafka-go wrote to one partition, and settles them.
func (w *Writer) written(msgs []kafkago.Message) {
	if k, ok := w.kinds[msgs[0].Topic]; ok {
		w.m.written.Add(context.Background(), int64(len(msgs)), kindAttr(k))
	}
	settleMessages(msgs)
}

// settleMessages settles each message with its tracker, counting runs of
// the same tracker at once.
func settleMessages(msgs []kafkago.Message) {
	var cur *tracker
	n := 0
	for i := range msgs {
		t, _ := msgs[i].WriterData.(*tracker)
		if t != cur {
			if cur != nil {
				cur.done(n)
			}
			cur, n = t, 0
		}
		n++
	}
	if cur != nil {
		cur.done(n)
	}
}

func headerValue(m kafkago.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
