package elasticsearch

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/flowship/flowship/pipeline"
)

// failedLabel marks documents whose batch was acked with an error
// (shutdown, dead-letter failure); their source replays them.
const failedLabel = "failed"

// metrics holds the sink's instruments.
type metrics struct {
	latency    metric.Float64Histogram
	itemsTotal metric.Int64Counter
	retries    metric.Int64Counter
	deadLetter metric.Int64Counter
	inflight   metric.Int64UpDownCounter
	results    map[string]metric.AddOption // result label → attribute option
}

func newMetrics(tel pipeline.Telemetry, waits *waitBoard) (*metrics, error) {
	m := &metrics{results: map[string]metric.AddOption{}}
	var err error
	wrap := func(e error) error { return fmt.Errorf("elasticsearch: creating metrics: %w", e) }
	if m.latency, err = tel.Meter.Float64Histogram("flowship_es_bulk_latency_seconds",
		metric.WithUnit("s"), metric.WithDescription("Duration of one bulk request, from send to parsed response.")); err != nil {
		return nil, wrap(err)
	}
	if m.itemsTotal, err = tel.Meter.Int64Counter("flowship_es_items_total",
		metric.WithDescription("Documents by bulk result: created, conflict (409, already indexed), retried, dead_lettered, failed (acked with an error for replay).")); err != nil {
		return nil, wrap(err)
	}
	if m.retries, err = tel.Meter.Int64Counter("flowship_es_retries_total",
		metric.WithDescription("Retry rounds: backoff waits before resending documents Elasticsearch could not take.")); err != nil {
		return nil, wrap(err)
	}
	if m.deadLetter, err = tel.Meter.Int64Counter("flowship_es_dead_letter_total",
		metric.WithDescription("Documents Elasticsearch rejected permanently that the dead-letter consumer acknowledged.")); err != nil {
		return nil, wrap(err)
	}
	if m.inflight, err = tel.Meter.Int64UpDownCounter("flowship_es_inflight_requests",
		metric.WithDescription("Bulk requests in flight.")); err != nil {
		return nil, wrap(err)
	}
	if _, err = tel.Meter.Int64ObservableGauge("flowship_es_waiting_documents",
		metric.WithDescription("Documents retried because Elasticsearch refuses them until an operator acts, by reason: unauthorized (401), forbidden (403: privileges, write block), index_not_found."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			for _, w := range waits.totals() {
				o.Observe(int64(w.Documents), metric.WithAttributes(attribute.String("reason", w.Reason)))
			}
			return nil
		})); err != nil {
		return nil, wrap(err)
	}
	for _, r := range []string{"created", "conflict", "retried", "dead_lettered", failedLabel} {
		m.results[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", r)))
	}
	return m, nil
}

// items adds n documents with the given result label.
func (m *metrics) items(ctx context.Context, result string, n int) {
	if n > 0 {
		m.itemsTotal.Add(context.WithoutCancel(ctx), int64(n), m.results[result])
	}
}

// every lets one log line through per interval and counts the ones it
// held back, so a long outage logs a few clear lines instead of a flood.
type every struct {
	mu         sync.Mutex
	interval   time.Duration
	last       time.Time
	suppressed int
}

// allow reports whether to log now and how many lines were held back
// since the last one.
func (e *every) allow(now time.Time) (bool, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.last.IsZero() && now.Sub(e.last) < e.interval {
		e.suppressed++
		return false, 0
	}
	n := e.suppressed
	e.last, e.suppressed = now, 0
	return true, n
}
