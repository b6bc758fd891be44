package elasticsearch

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/flowship/flowship/pipeline/pipelinetest"
)

// waitingGauge reads flowship_es_waiting_documents{reason}.
func waitingGauge(t testing.TB, r *sdkmetric.ManualReader, reason string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "flowship_es_waiting_documents" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
				if v, _ := dp.Attributes.Value(attribute.Key("reason")); v.AsString() == reason {
					return dp.Value
				}
			}
		}
	}
	return -1
}

// waitingFor returns the documents Waiting reports for reason.
func waitingFor(s *Sink, reason string) (int, time.Time) {
	for _, w := range s.Waiting() {
		if w.Reason == reason {
			return w.Documents, w.Since
		}
	}
	return 0, time.Time{}
}

func TestRefusedItemsWaitCountedAndReported(t *testing.T) {
	cases := []struct {
		name, reason, errType string
		status                int
		hint                  string
	}{
		{"index not found", "index_not_found", "index_not_found_exception", 404, "flowship setup"},
		{"forbidden", "forbidden", "security_exception", 403, "privileges"},
		{"write block", "forbidden", "cluster_block_exception", 403, "write block"},
		{"unauthorized item", "unauthorized", "security_exception", 401, "password_file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeES(t)
			var refuse atomic.Bool
			refuse.Store(true)
			f.item = func(_ int, it bulkItem) (int, string, string) {
				if refuse.Load() && it.ID != "d-0" {
					return c.status, c.errType, "refused for the test"
				}
				return 0, "", ""
			}
			cfg := testConfig(f.srv.URL)
			cfg.UnreadyAfter = 100 * time.Millisecond
			tel, mr := meterReader()
			logs := &syncBuffer{}
			h := startSinkTel(t, cfg, tel, logs, &pipelinetest.Sink{})
			before := time.Now()
			a := consume(t, h.sink, docs("d", 4))
			waitFor(t, func() bool { n, _ := waitingFor(h.sink, c.reason); return n == 3 })
			if g := waitingGauge(t, mr, c.reason); g != 3 {
				t.Errorf("flowship_es_waiting_documents{reason=%q} = %d, want 3", c.reason, g)
			}
			_, since := waitingFor(h.sink, c.reason)
			if since.Before(before) || since.After(time.Now()) {
				t.Errorf("waiting since %v, want a time during the test", since)
			}
			// Not ready once the documents waited unready_after.
			waitFor(t, func() bool { return h.sink.Ready() != nil })
			err := h.sink.Ready()
			if !containsAll(err.Error(), c.reason, "3 documents", since.UTC().Format(time.RFC3339), c.hint) {
				t.Errorf("Ready() = %q, want reason, count, since and %q", err, c.hint)
			}
			if !containsAll(logs.String(), "waiting", c.reason, c.hint) {
				t.Errorf("log does not say why documents wait:\n%s", logs)
			}
			if a.count() != 0 {
				t.Fatalf("batch acked (%v) while documents wait", a.err)
			}
			refuse.Store(false) // the operator fixed it
			if err := a.wait(t); err != nil {
				t.Fatalf("ack = %v", err)
			}
			if n, _ := waitingFor(h.sink, c.reason); n != 0 {
				t.Errorf("%d documents still reported waiting after they were indexed", n)
			}
			if g := waitingGauge(t, mr, c.reason); g != 0 {
				t.Errorf("gauge = %d after the documents were indexed, want 0", g)
			}
			if err := h.sink.Ready(); err != nil {
				t.Errorf("Ready() = %v after the documents were indexed", err)
			}
			if f.docCount() != 4 {
				t.Errorf("%d documents indexed, want 4", f.docCount())
			}
		})
	}
}

func TestWholeRequest401WaitsAsUnauthorized(t *testing.T) {
	f := newFakeES(t)
	var refuse atomic.Bool
	refuse.Store(true)
	f.whole = func(int, []bulkItem) (int, string) {
		if refuse.Load() {
			return 401, `{"error":{"type":"security_exception","reason":"unable to authenticate user"},"status":401}`
		}
		return 0, ""
	}
	cfg := testConfig(f.srv.URL)
	cfg.UnreadyAfter = time.Hour
	h := startSink(t, cfg, &pipelinetest.Sink{})
	a := consume(t, h.sink, docs("d", 5))
	waitFor(t, func() bool { n, _ := waitingFor(h.sink, "unauthorized"); return n == 5 })
	if err := h.sink.Ready(); err != nil {
		t.Errorf("Ready() = %v before unready_after passed", err)
	}
	refuse.Store(false)
	if err := a.wait(t); err != nil {
		t.Fatalf("ack = %v", err)
	}
	if n, _ := waitingFor(h.sink, "unauthorized"); n != 0 {
		t.Errorf("%d documents still reported waiting", n)
	}
}

func TestUnreadyAfterValidated(t *testing.T) {
	cfg := testConfig("http://localhost:9200")
	cfg.UnreadyAfter = 0
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "elasticsearch.unready_after") {
		t.Errorf("Validate() = %v, want an error naming elasticsearch.unready_after", err)
	}
	if d := DefaultConfig().UnreadyAfter; d != time.Minute {
		t.Errorf("default unready_after = %s, want 1m", d)
	}
}
