package retention

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.uber.org/goleak"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestExpiredBoundary(t *testing.T) {
	cest := time.FixedZone("CEST", 2*3600)
	tests := []struct {
		name string
		day  string
		days int
		now  time.Time
		want bool
	}{
		{"8 days: one nanosecond before the 8th day ends", "2025-06-10", 8, time.Date(2025, 6, 17, 23, 59, 59, 999999999, time.UTC), false},
		{"8 days: the day started exactly 8 days ago", "2025-06-10", 8, time.Date(2025, 6, 18, 0, 0, 0, 0, time.UTC), true},
		{"8 days: later", "2025-06-10", 8, time.Date(2025, 6, 25, 13, 0, 0, 0, time.UTC), true},
		{"1 day: still the same day", "2025-06-10", 1, time.Date(2025, 6, 10, 23, 59, 59, 0, time.UTC), false},
		{"1 day: the next day begins", "2025-06-10", 1, time.Date(2025, 6, 11, 0, 0, 0, 0, time.UTC), true},
		{"now in another zone, same instant as the boundary", "2025-06-10", 1, time.Date(2025, 6, 11, 2, 0, 0, 0, cest), true},
		{"now in another zone, one second before", "2025-06-10", 1, time.Date(2025, 6, 11, 1, 59, 59, 0, cest), false},
		{"across a month end", "2025-01-28", 8, time.Date(2025, 2, 5, 0, 0, 0, 0, time.UTC), true},
		{"across a month end, day before", "2025-01-28", 8, time.Date(2025, 2, 4, 23, 0, 0, 0, time.UTC), false},
		{"future index", "2025-06-20", 1, time.Date(2025, 6, 18, 0, 0, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Expired(day(tt.day), tt.days, tt.now); got != tt.want {
				t.Errorf("Expired(%s, %d, %s) = %v, want %v", tt.day, tt.days, tt.now, got, tt.want)
			}
		})
	}
}

func TestRunOnceDeletesExactlyTheExpiredFlowshipIndices(t *testing.T) {
	es := newFakeES(false)
	kept := []string{
		"flowship-flows-prod-2025.06.11",          // 7 days old, retention 8
		"flowship-l7-prod-2025.06.18",             // today
		"flowship-dns-prod-2025.06.12",            // 6 days old
		"flowship-flows-prod-2025.06.01-restored", // matches the pattern, not a flowship name
		"flowship-flows-prod-x-2025.06.01",        // has a date, but not the name of that day
		"flowship-flows-prod-archive",             // no date
		"flowship-flows-prod-2025.13.01",          // no valid date
		"flowship-flows-staging-2020.01.01",       // another cluster
		"other-2020.01.01",                        // not flowship's
	}
	deleted := []string{
		"flowship-dns-prod-2025.06.01",
		"flowship-flows-prod-2025.06.09",
		"flowship-flows-prod-2025.06.10", // exactly 8 days
		"flowship-l7-prod-2025.06.16",
		"flowship-l7-prod-2025.06.17", // exactly 1 day
	}
	for _, n := range append(slices.Clone(kept), deleted...) {
		es.indices[n] = true
	}
	var logs bytes.Buffer
	reader := sdkmetric.NewManualReader()
	tel := pipeline.NopTelemetry()
	tel.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	tel.Meter = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test")
	m, err := NewManager(testConfig(), es.client(t), tel)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.RunOnce(context.Background(), time.Date(2025, 6, 18, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, deleted) {
		t.Errorf("deleted %q, want %q", got, deleted)
	}
	for _, n := range kept {
		if !es.indices[n] {
			t.Errorf("%s was deleted; it must be kept", n)
		}
	}
	for _, n := range deleted {
		if !strings.Contains(logs.String(), "index="+n) {
			t.Errorf("deletion of %s not logged:\n%s", n, logs.String())
		}
	}
	if total := counterTotal(t, reader, "flowship_retention_indices_deleted_total"); total != int64(len(deleted)) {
		t.Errorf("flowship_retention_indices_deleted_total = %d, want %d", total, len(deleted))
	}
}

func TestRunOnceGoesOnPastAFailedDeletion(t *testing.T) {
	es := newFakeES(false)
	for _, n := range []string{"flowship-flows-prod-2025.06.01", "flowship-flows-prod-2025.06.02"} {
		es.indices[n] = true
	}
	es.failDelete["flowship-flows-prod-2025.06.01"] = true
	m, err := NewManager(testConfig(), es.client(t), pipeline.NopTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.RunOnce(context.Background(), time.Date(2025, 6, 18, 0, 0, 0, 0, time.UTC))
	if err == nil || !strings.Contains(err.Error(), "deleting index flowship-flows-prod-2025.06.01") || !strings.Contains(err.Error(), "500") {
		t.Errorf("RunOnce error = %v, want one naming the index and the status", err)
	}
	if !slices.Equal(got, []string{"flowship-flows-prod-2025.06.02"}) {
		t.Errorf("deleted %q, want the other expired index", got)
	}
}

func TestRunDeletesOnSchedule(t *testing.T) {
	// Other tests (the integration ones against a real server) leave
	// keep-alive connections whose goroutines may start or end while this
	// test runs; this test's own client has no connections at all.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
	synctest.Test(t, func(t *testing.T) {
		es := newFakeES(false)
		today := time.Now().UTC()
		yesterday := today.AddDate(0, 0, -1)
		n := testConfig().Naming
		es.indices[n.Index(pipeline.KindL7, yesterday)] = true
		es.indices[n.Index(pipeline.KindL7, today)] = true
		m, err := NewManager(testConfig(), es.client(t), pipeline.NopTelemetry())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()

		synctest.Wait()
		es.mu.Lock()
		first := len(es.indices)
		es.mu.Unlock()
		if first != 1 {
			t.Errorf("after the first round %d indices remain, want 1 (today's l7)", first)
		}
		time.Sleep(24 * time.Hour) // a new day: today's l7 index is past its 1-day retention
		synctest.Wait()
		es.mu.Lock()
		left := len(es.indices)
		es.mu.Unlock()
		if left != 0 {
			t.Errorf("after a day of hourly rounds %d indices remain, want 0", left)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	})
}

func counterTotal(t *testing.T, r *sdkmetric.ManualReader, name string) int64 {
	t.Helper()
	return pipelinetest.MetricSum(t, r, name)
}
