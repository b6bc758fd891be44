package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
	kinds map[string]string // topic → metric label

	slots   chan struct{}       // one token per in-flight batch
	queue   chan *inflightBatch // accepted, not yet handed to kafka-go
	retries retryQueue          // partition batches kafka-go gave up on

	mu      sync.Mutex
	live    map[*inflightBatch]struct{}
	stopped bool
	drained chan struct{} // closed when stopped and live is empty
	started atomic.Bool
}

// NewWriter returns a Writer for cfg. It does not connect; Run does.
func NewWriter(cfg Config, tel pipeline.Telemetry) (*Writer, error) {
	return newWriter(cfg, tel, "kafka_writer")
}

func newWriter(cfg Config, tel pipeline.Telemetry, stage string) (*Writer, error) {
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
	log := tel.Logger.With("stage", stage)
	abortCtx, abort := context.WithCancel(context.Background())
	rt := &abortableTransport{ctx: abortCtx,
		rt: newCompressingTransport(d.transport, writerCodec(cfg.Compression, cfg.CompressionLevel))}
	w := &Writer{
		cfg:     cfg,
		log:     log,
		m:       m,
		health:  newHealth(log, "writes", cfg.Brokers),
		dl:      &deadLetterLog{path: cfg.DeadLetterLog},
		abort:   abort,
		tr:      d.transport,
		kinds:   map[string]string{cfg.Topics.DeadLetter: "dead_letter"},
		slots:   make(chan struct{}, cfg.MaxInflightBatches),
		queue:   make(chan *inflightBatch, cfg.MaxInflightBatches),
		live:    map[*inflightBatch]struct{}{},
		drained: make(chan struct{}),
	}
	w.retries.init()
	for _, k := range pipeline.Kinds {
		w.kinds[cfg.Topics.For(k)] = string(k)
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
		// No kafka-go compression: it would use kafka-go's process-wide
		// codec table; compressingTransport compresses with this
		// Writer's own codec.
		Transport:   rt,
		Logger:      kafkaGoLogger(w.log),
		ErrorLogger: kafkaGoLogger(w.log),
	}
}

// inflightBatch is one Batch the Writer accepted and Kafka has not yet
// acknowledged in full: each of its messages points back to it
// (Message.WriterData), left counts the messages not yet settled, and
// the Batch's ack fires once they all are, or once with an error at
// shutdown.
type inflightBatch struct {
	w       *Writer
	ack     pipeline.Ack
	msgs    []kafkago.Message
	left    atomic.Int64
	start   time.Time
	settled atomic.Bool
}

// done settles n of t's messages.
func (t *inflightBatch) done(n int) {
	if t.left.Add(-int64(n)) == 0 {
		t.settle(nil)
	}
}

func (t *inflightBatch) settle(err error) {
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
	msgs := make([]kafkago.Message, len(b.Records))
	for i, r := range b.Records {
		msgs[i] = ToMessage(r, w.cfg.Topics.For(r.Kind))
	}
	return w.enqueue(ctx, msgs, b.Ack)
}

// enqueue accepts msgs, to be settled together with one call of ack.
func (w *Writer) enqueue(ctx context.Context, msgs []kafkago.Message, ack pipeline.Ack) error {
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	now := time.Now()
	t := &inflightBatch{w: w, ack: ack, start: now, msgs: msgs}
	for i := range msgs {
		msgs[i].Time = now
		msgs[i].WriterData = t
	}
	t.left.Store(int64(len(msgs)))
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
	rest := make([]*inflightBatch, 0, len(w.live))
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
