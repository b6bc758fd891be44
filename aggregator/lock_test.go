package aggregator

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/flowship/flowship/pipeline"
)

// TestMetricsAnswerWhileNextStageBlocks: while the next stage blocks in
// Consume (Kafka unreachable, the writer's in-flight limit reached), the
// open-bucket gauges, Stats and an idle tick must still answer: no lock of
// the stream may be held across the call to the next stage. The sink is a
// hook that blocks until released; the bound below is a deadline for
// something that must happen, not a wait for nothing to happen.
func TestMetricsAnswerWhileNextStageBlocks(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	tel := pipeline.NopTelemetry()
	tel.Meter = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test")
	sink := &blockingSink{release: make(chan struct{}), blocked: make(chan struct{})}
	a, err := New(testConfig(), tel, sink)
	if err != nil {
		t.Fatal(err)
	}
	var rec ackRecorder
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		// The second line moves the watermark past the first bucket, whose
		// document goes to the blocked next stage.
		consume(t, a, pipeline.KindFlow, rec.ack(0),
			line(t, baseFlow, map[string]any{"end_time": 1749542697}),
			line(t, baseFlow, map[string]any{"start_time": 1749543000, "end_time": 1749543297}))
	}()
	<-sink.blocked

	answered := make(chan metricdata.ResourceMetrics, 1)
	go func() {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Error(err)
		}
		_ = a.Stats(pipeline.KindFlow)
		a.stream(pipeline.KindFlow).idle(context.Background(), time.Now())
		answered <- rm
	}()
	select {
	case rm := <-answered:
		if got := gaugeValue(rm, "flowship_aggregator_open_buckets", string(pipeline.KindFlow)); got != 1 {
			t.Errorf("open_buckets{kind=flow} = %d while the first bucket is being sent, want 1 (the second)", got)
		}
	case <-time.After(10 * time.Second):
		close(sink.release)
		t.Fatal("metrics collection blocked while the next stage blocked: a stream lock is held across next.Consume")
	}
	close(sink.release)
	<-sent
	if n, _ := rec.get(0); n != 0 {
		t.Errorf("input acked %d times before its second bucket was flushed", n)
	}
}

// gaugeValue returns the int64 gauge point of name with kind=kind, or -1.
func gaugeValue(rm metricdata.ResourceMetrics, name, kind string) int64 {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			g, ok := m.Data.(metricdata.Gauge[int64])
			if !ok {
				continue
			}
			for _, dp := range g.DataPoints {
				if v, ok := dp.Attributes.Value("kind"); ok && v.AsString() == kind {
					return dp.Value
				}
			}
		}
	}
	return -1
}
