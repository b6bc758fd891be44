package elasticsearch

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

// meterReader returns telemetry whose metrics can be read back.
func meterReader() (pipeline.Telemetry, *sdkmetric.ManualReader) {
	r := sdkmetric.NewManualReader()
	tel := pipeline.NopTelemetry()
	tel.Meter = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r)).Meter("flowship")
	return tel, r
}

// counter returns the value of an int64 sum, optionally for one "result"
// attribute ("" sums every series).
func counter(t testing.TB, r *sdkmetric.ManualReader, name, result string) int64 {
	t.Helper()
	if result == "" {
		return pipelinetest.MetricSum(t, r, name)
	}
	return pipelinetest.MetricSum(t, r, name, attribute.String("result", result))
}

func TestMetricsCountEveryOutcome(t *testing.T) {
	f := newFakeES(t)
	f.docs[testIndex+"/d-1"] = "{}"
	f.item = func(call int, it bulkItem) (int, string, string) {
		switch {
		case it.ID == "d-2" && call == 1:
			return 429, "es_rejected_execution_exception", "busy"
		case it.ID == "d-3":
			return 400, "document_parsing_exception", "bad"
		}
		return 0, "", ""
	}
	tel, reader := meterReader()
	dlq := &pipelinetest.Sink{}
	s, err := New(testConfig(f.srv.URL), tel, dlq)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	a := consume(t, s, docs("d", 4))
	if err := a.wait(t); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	want := map[string]int64{"created": 2, "conflict": 1, "retried": 1, "dead_lettered": 1, "failed": 0}
	for result, n := range want {
		if got := counter(t, reader, "flowship_es_items_total", result); got != n {
			t.Errorf("items_total{result=%s} = %d, want %d", result, got, n)
		}
	}
	if got := counter(t, reader, "flowship_es_retries_total", ""); got != 1 {
		t.Errorf("retries_total = %d, want 1", got)
	}
	if got := counter(t, reader, "flowship_es_dead_letter_total", ""); got != 1 {
		t.Errorf("dead_letter_total = %d, want 1", got)
	}
	if got := counter(t, reader, "flowship_es_inflight_requests", ""); got != 0 {
		t.Errorf("inflight_requests = %d after shutdown, want 0", got)
	}
}
