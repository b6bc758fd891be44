package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	kafkago "github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/flowship/flowship/pipeline"
)

// Reader consumes the kind topics as a member of a consumer group and
// hands Records, in batches, to next. It is the source of the indexer.
//
// Offsets: each partition has a pipeline.Checkpointer; a partition's
// offset is committed only up to the contiguous run of records whose
// batches were acked with nil: commit_delay after a batch settles, every
// commit_interval, and when a generation ends (rebalance or shutdown,
// after waiting up to drain_timeout for in-flight batches). So an
// indexer killed again and again still commits what it settled.
//
// Lag (flowship_kafka_consumer_lag_records) is the high watermark seen
// at the last fetch minus the first offset not yet settled: records in
// flight to Elasticsearch count as lag until they settle.
//
// Generations: kafka-go's high-level Reader hides the group generation,
// so a commit made after a rebalance would silently apply to partitions
// this member no longer owns. The Reader therefore drives kafka-go's
// ConsumerGroup itself and reads each assigned partition with its own
// kafka-go Reader. Every generation has its own checkpointers and commits
// only through its own Generation; an ack that arrives after its
// generation ended resolves a checkpointer nobody commits from, so the
// new owner replays those records (deduplicated downstream by _id).
//
// A message that breaks the wire contract (FromMessage fails) is logged
// with topic/partition/offset, counted in flowship_kafka_bad_messages_total
// and skipped: it counts as settled. A batch acked with an error ends the
// generation, so the group rejoins and its records are read again from the
// last committed offset.
type Reader struct {
	cfg    ReaderConfig
	log    *slog.Logger
	m      *readerMetrics
	meter  metric.Meter
	next   pipeline.Consumer
	d      dialers
	health *health

	lagMu sync.Mutex
	lag   map[topicPartition]*partState // the current generation's partitions

	// afterCommit, when set (by tests, before Run), is called at the end
	// of every commit pass, whether it committed anything or not.
	afterCommit func()
}

type topicPartition struct {
	topic     string
	partition int
}

// NewReader returns a Reader for cfg that hands batches to next. It does
// not connect; Run does.
func NewReader(cfg ReaderConfig, tel pipeline.Telemetry, next pipeline.Consumer) (*Reader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if next == nil {
		return nil, errors.New("kafka reader: next consumer is nil")
	}
	d, err := cfg.Connection.build("kafka.")
	if err != nil {
		return nil, err
	}
	m, err := newReaderMetrics(tel.Meter)
	if err != nil {
		return nil, err
	}
	log := tel.Logger.With("stage", "kafka_reader", "group", cfg.GroupID)
	return &Reader{
		cfg: cfg, log: log, m: m, meter: tel.Meter, next: next, d: d,
		health: newHealth(log, "consumer group", cfg.Brokers),
		lag:    map[topicPartition]*partState{},
	}, nil
}

// Run consumes until ctx ends, then waits up to drain_timeout for
// in-flight batches, commits what settled, leaves the group and returns
// nil. It returns an error only if the group cannot be set up at all.
func (r *Reader) Run(ctx context.Context) error {
	start := kafkago.FirstOffset
	if r.cfg.StartOffset == StartLast {
		start = kafkago.LastOffset
	}
	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                    r.cfg.GroupID,
		Brokers:               r.cfg.Brokers,
		Dialer:                r.d.dialer,
		Topics:                r.cfg.Topics,
		StartOffset:           start,
		WatchPartitionChanges: true,
		SessionTimeout:        r.cfg.SessionTimeout,
		RebalanceTimeout:      r.cfg.RebalanceTimeout,
		Timeout:               r.cfg.DialTimeout,
		Logger:                kafkaGoLogger(r.log),
		ErrorLogger:           kafkaGoLogger(r.log),
	})
	if err != nil {
		return fmt.Errorf("kafka reader: %w", err)
	}
	defer cg.Close()
	reg, err := r.meter.RegisterCallback(r.observeLag, r.m.lag)
	if err != nil {
		return fmt.Errorf("kafka reader metrics: %w", err)
	}
	defer reg.Unregister()
	for {
		gen, err := cg.Next(ctx)
		switch {
		case ctx.Err() != nil || errors.Is(err, kafkago.ErrGroupClosed):
			return nil
		case err != nil:
			r.m.fetchErrors.Add(ctx, 1)
			r.health.fail(err)
			continue
		}
		r.health.ok()
		r.log.Info("kafka: joined consumer group", "generation", gen.ID, "member", gen.MemberID,
			"assignments", fmt.Sprint(gen.Assignments))
		done := make(chan struct{})
		g := newGeneration(r, gen)
		gen.Start(func(gctx context.Context) {
			defer close(done)
			g.run(ctx, gctx)
		})
		<-done
		if ctx.Err() != nil {
			return nil
		}
	}
}

func (r *Reader) observeLag(_ context.Context, o metric.Observer) error {
	r.lagMu.Lock()
	defer r.lagMu.Unlock()
	for tp, p := range r.lag {
		if l, ok := p.lag(); ok {
			o.ObserveInt64(r.m.lag, l, metric.WithAttributes(
				attribute.String("topic", tp.topic), attribute.Int("partition", tp.partition)))
		}
	}
	return nil
}

// watchLag makes p the source of tp's lag gauge.
func (r *Reader) watchLag(tp topicPartition, p *partState) {
	r.lagMu.Lock()
	r.lag[tp] = p
	r.lagMu.Unlock()
}

func (r *Reader) dropLag(tps []topicPartition) {
	r.lagMu.Lock()
	for _, tp := range tps {
		delete(r.lag, tp)
	}
	r.lagMu.Unlock()
}

// inflight counts batches handed to next and not yet acked.
type inflight struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0
}

func (f *inflight) add() {
	f.mu.Lock()
	if f.n == 0 {
		f.zero = make(chan struct{})
	}
	f.n++
	f.mu.Unlock()
}

func (f *inflight) done() {
	f.mu.Lock()
	f.n--
	if f.n == 0 {
		close(f.zero)
	}
	f.mu.Unlock()
}

// idle returns a channel closed once nothing is in flight.
func (f *inflight) idle() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return f.zero
}
