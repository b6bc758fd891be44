package aggregator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
)

var errStopped = errors.New("aggregator: stopped; no more input is accepted")

// Stats counts what the aggregator did with its input, per kind.
type Stats struct {
	Lines     int64 // raw lines received
	Bad       int64 // lines that did not parse (dead-lettered, acknowledged)
	Filtered  int64 // lines dropped by filter rules (acknowledged)
	Replayed  int64 // lines skipped after a restart: already delivered
	Rejected  int64 // lines outside the event-time sanity window (dead-lettered, acknowledged)
	Documents int64 // documents emitted
}

// Aggregator is the filter-and-aggregate stage: raw lines in (Record
// Kind, Value, Source, Offset, Line from the file tailer), aggregated
// documents out (Kind, Key, ID, Time = bucket start, Value, Node). It
// implements pipeline.Consumer; Consume processes the batch before it
// returns, handing flushed buckets to next on the caller's goroutine (so
// a slow next slows the tailers). Each kind is aggregated independently;
// calls for different kinds run in parallel. Within one call, the lines of
// a large batch are parsed on a second goroutine ahead of the merge
// (Config.ParseAhead), so one input uses two cores while it catches up.
type Aggregator struct {
	cfg     Config
	log     *slog.Logger
	next    pipeline.Consumer
	streams [3]*stream
	stopped atomic.Bool
	dlq     *pipeline.DeadLetterLog // nil: discards
	m       metrics
}

// New builds an Aggregator; cfg must Validate.
func New(cfg Config, tel pipeline.Telemetry, next pipeline.Consumer) (*Aggregator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	fs, err := CompileFilters(cfg.Filters)
	if err != nil {
		return nil, err
	}
	kf, err := compileKeyFields(cfg.ExtraKeyFields)
	if err != nil {
		return nil, err
	}
	a := &Aggregator{cfg: cfg, log: tel.Logger, next: next}
	if a.cfg.Now == nil {
		a.cfg.Now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.m, err = newMetrics(tel.Meter); err != nil {
		return nil, fmt.Errorf("aggregator metrics: %w", err)
	}
	if cfg.DeadLetterLog != "" {
		if a.dlq, err = pipeline.OpenDeadLetterLog(cfg.DeadLetterLog); err != nil {
			return nil, fmt.Errorf("aggregator.dead_letter_log: %w", err)
		}
	}
	seed := maphash.MakeSeed()
	for _, k := range pipeline.Kinds {
		a.streams[kindIndex[k]] = newStream(a, k, newProc(k, &a.cfg, fs, kf, seed))
	}
	if err := a.observeOpen(tel.Meter); err != nil {
		return nil, fmt.Errorf("aggregator metrics: %w", err)
	}
	return a, nil
}

// observeOpen registers the gauges of what is held in memory: open bucket
// parts and the distinct keys in them, per kind (max_open_keys bounds
// the latter).
func (a *Aggregator) observeOpen(m metric.Meter) error {
	if m == nil {
		return nil
	}
	buckets, err1 := m.Int64ObservableGauge("flowship_aggregator_open_buckets",
		metric.WithDescription("Bucket parts open in memory, by kind."))
	keys, err2 := m.Int64ObservableGauge("flowship_aggregator_open_keys",
		metric.WithDescription("Distinct keys held in open buckets, by kind; reaching aggregation.max_open_keys flushes early."))
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, k := range pipeline.Kinds {
			s := a.stream(k)
			s.mu.Lock()
			nb, nk := int64(len(s.open)), int64(s.openKeys)
			s.mu.Unlock()
			kind := metric.WithAttributes(attribute.String("kind", string(k)))
			o.ObserveInt64(buckets, nb, kind)
			o.ObserveInt64(keys, nk, kind)
		}
		return nil
	}, buckets, keys)
	return err
}

func (a *Aggregator) stream(k pipeline.Kind) *stream {
	switch k {
	case pipeline.KindFlow:
		return a.streams[0]
	case pipeline.KindL7:
		return a.streams[1]
	case pipeline.KindDNS:
		return a.streams[2]
	}
	return nil
}

// Consume aggregates b's lines. It returns nil once every line is
// aggregated, filtered or dead-lettered; b.Ack then fires when every
// document the lines went into is acknowledged downstream (with the
// joined errors if any failed, or errShutdown for buckets still open when
// Run ended).
func (a *Aggregator) Consume(ctx context.Context, b pipeline.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if a.stopped.Load() {
		return errStopped
	}
	var present [3]bool
	n := 0
	for i := range b.Records {
		s := a.stream(b.Records[i].Kind)
		if s == nil {
			a.badKind(&b.Records[i])
			continue
		}
		if j := kindIndex[s.kind]; !present[j] {
			present[j], n = true, n+1
		}
	}
	acks := pipeline.Split(b.Ack, n)
	for j, s := range a.streams {
		if present[j] {
			s.consume(ctx, b.Records, acks[0])
			acks = acks[1:]
		}
	}
	return nil
}

// Run flushes idle kinds until ctx ends. Then it stops accepting input
// and fails the lines of every bucket still open, without flushing them:
// they were not acknowledged, so the tailer reads them again after a
// restart and the buckets are rebuilt exactly (see the package doc).
func (a *Aggregator) Run(ctx context.Context) error {
	defer a.dlq.Close()
	if a.cfg.IdleFlush > 0 {
		tick := min(max(a.cfg.IdleFlush/4, 10*time.Millisecond), 5*time.Second)
		t := time.NewTicker(tick)
		defer t.Stop()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case now := <-t.C:
				for _, s := range a.streams {
					s.idle(ctx, now)
				}
			}
		}
	} else {
		<-ctx.Done()
	}
	a.stopped.Store(true)
	for _, s := range a.streams {
		s.shutdown()
	}
	return nil
}

// Flush flushes every open bucket of every kind now: for offline
// aggregation at the end of the input. Documents are handed to next
// before it returns.
func (a *Aggregator) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, s := range a.streams {
		s.flushAll(ctx)
	}
	return ctx.Err()
}

// Stats returns the counters of kind k so far.
func (a *Aggregator) Stats(k pipeline.Kind) Stats {
	s := a.stream(k)
	if s == nil {
		return Stats{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// State returns kind k's replay state: the aggregator as of the end of
// the acknowledged prefix of its input. Persist it atomically with the
// source's offsets; OnState pushes it at the right moments.
func (a *Aggregator) State(k pipeline.Kind) json.RawMessage {
	if s := a.stream(k); s != nil {
		return s.rs.state()
	}
	return nil
}

// OnState registers fn to receive kind k's state each time the
// acknowledged prefix of its input advances, before the Acks of the
// batches concerned are called (pass filetail's Tailer.SetState). fn runs
// on the acknowledging goroutine and must not block or call back.
func (a *Aggregator) OnState(k pipeline.Kind, fn func(json.RawMessage)) {
	if s := a.stream(k); s != nil {
		s.rs.mu.Lock()
		s.rs.hook = fn
		s.rs.mu.Unlock()
	}
}

// Restore loads kind k's state saved with the offsets the source resumes
// from. Call it before the first Consume. An empty state is a first
// start.
func (a *Aggregator) Restore(k pipeline.Kind, state json.RawMessage) error {
	s := a.stream(k)
	if s == nil {
		return fmt.Errorf("aggregator: restore: unknown kind %q", k)
	}
	if len(state) == 0 || string(state) == "null" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.restore(state); err != nil {
		return fmt.Errorf("%s: %w", k, err)
	}
	return nil
}

// badLine counts, logs (rate-limited) and dead-letters an unparseable
// line.
func (a *Aggregator) badLine(s *stream, r *pipeline.Record, err error) {
	reason := "invalid_field"
	var se *schema.SyntaxError
	if errors.As(err, &se) {
		reason = "invalid_json"
	}
	a.m.bad.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String("kind", string(s.kind)), attribute.String("reason", reason)))
	if ok, suppressed := s.bad.allow(time.Now()); ok {
		a.log.Warn("bad line skipped", "kind", s.kind, "file", r.Source, "line", r.Line,
			"offset", r.Offset, "err", err, "suppressed_since_last", suppressed)
	}
	a.deadLetter(s, r, reason, err)
}

// rejectLine counts, logs (rate-limited) and dead-letters a line outside
// the event-time sanity window.
func (a *Aggregator) rejectLine(s *stream, r *pipeline.Record, reason string, err error) {
	a.m.rejected.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String("kind", string(s.kind)), attribute.String("reason", reason)))
	if ok, suppressed := s.bad.allow(time.Now()); ok {
		a.log.Warn("line outside the event-time window skipped", "kind", s.kind, "file", r.Source, "line", r.Line,
			"offset", r.Offset, "reason", reason, "err", err, "suppressed_since_last", suppressed)
	}
	a.deadLetter(s, r, reason, err)
}

func (a *Aggregator) deadLetter(s *stream, r *pipeline.Record, reason string, err error) {
	werr := a.dlq.Write(pipeline.DeadLetterEntry{Kind: s.kind, File: r.Source, Line: r.Line, Offset: r.Offset,
		Reason: reason, Error: err.Error(), Raw: string(r.Value)})
	if werr != nil && !errors.Is(werr, pipeline.ErrDeadLetterClosed) && !s.bad.dlqFailed { // after Close: dropped, as before
		s.bad.dlqFailed = true
		a.log.Error("cannot write the dead-letter log; bad lines are still counted and skipped; check aggregator.dead_letter_log",
			"file", a.cfg.DeadLetterLog, "err", werr)
	}
}

// badKind counts a record whose kind is unknown.
func (a *Aggregator) badKind(r *pipeline.Record) {
	a.m.bad.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String("kind", string(r.Kind)), attribute.String("reason", "unknown_kind")))
}

// count adds the per-batch counter deltas to the metrics.
func (a *Aggregator) count(k pipeline.Kind, before, after Stats) {
	ctx := context.Background()
	kind := attribute.String("kind", string(k))
	for _, c := range [...]struct {
		result string
		n      int64
	}{
		{"aggregated", (after.Lines - before.Lines) - (after.Bad - before.Bad) - (after.Filtered - before.Filtered) -
			(after.Replayed - before.Replayed) - (after.Rejected - before.Rejected)},
		{"bad", after.Bad - before.Bad},
		{"rejected", after.Rejected - before.Rejected},
		{"filtered", after.Filtered - before.Filtered},
		{"replayed", after.Replayed - before.Replayed},
	} {
		if c.n > 0 {
			a.m.lines.Add(ctx, c.n, metric.WithAttributes(kind, attribute.String("result", c.result)))
		}
	}
	if n := after.Documents - before.Documents; n > 0 {
		a.m.docs.Add(ctx, n, metric.WithAttributes(kind))
	}
}

type metrics struct {
	lines, bad, rejected, docs metric.Int64Counter
}

func newMetrics(m metric.Meter) (metrics, error) {
	var ms metrics
	var err1, err2, err3, err4 error
	ms.lines, err1 = m.Int64Counter("flowship_aggregator_lines_total",
		metric.WithDescription("Raw lines received, by kind and result (aggregated, bad, filtered, rejected, replayed)."))
	ms.bad, err2 = m.Int64Counter("flowship_aggregator_bad_lines_total",
		metric.WithDescription("Lines that could not be parsed, by kind and reason."))
	ms.rejected, err3 = m.Int64Counter("flowship_aggregator_rejected_lines_total",
		metric.WithDescription("Lines outside the event-time sanity window (dead-lettered, acknowledged), by kind and reason: end_time_zero, end_before_start, future (aggregation.max_future), too_old (aggregation.max_age)."))
	ms.docs, err4 = m.Int64Counter("flowship_aggregator_documents_total",
		metric.WithDescription("Aggregated documents emitted, by kind."))
	return ms, errors.Join(err1, err2, err3, err4)
}
