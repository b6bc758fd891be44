package kafka

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/flowship/flowship/pipeline"
)

// startReaderWith is startReader with the caller's telemetry.
func startReaderWith(t *testing.T, cfg ReaderConfig, tel pipeline.Telemetry, next pipeline.Consumer) (stop func()) {
	t.Helper()
	r, err := NewReader(cfg, tel, next)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Reader.Run did not return within 20s of cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// lagOf reads flowship_kafka_consumer_lag_records of topic/0; ok is false
// when the gauge has no such series.
func lagOf(t *testing.T, r *sdkmetric.ManualReader, topic string) (lag int64, ok bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "flowship_kafka_consumer_lag_records" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
				tp, _ := dp.Attributes.Value(attribute.Key("topic"))
				p, _ := dp.Attributes.Value(attribute.Key("partition"))
				if tp.AsString() == topic && p.AsInt64() == 0 {
					return dp.Value, true
				}
			}
		}
	}
	return 0, false
}

// waitLag polls the lag gauge of topic/0 until it reads want.
func waitLag(t *testing.T, r *sdkmetric.ManualReader, topic string, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, ok := lagOf(t, r, topic)
		if ok && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer lag of %s/0 = %d (reported: %v), want %d", topic, got, ok, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func meterTelemetry() (pipeline.Telemetry, *sdkmetric.ManualReader) {
	r := sdkmetric.NewManualReader()
	tel := pipeline.NopTelemetry()
	tel.Meter = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r)).Meter("flowship")
	return tel, r
}

// checkLagFollowsSettled: while the next stage holds every batch (as the
// Elasticsearch sink does while it refuses writes), the lag counts every
// record not yet settled, not only those not yet fetched; it drops as
// records settle.
func checkLagFollowsSettled(t *testing.T, brokers []string, cfg ReaderConfig, topic string) {
	t.Helper()
	tel, mr := meterTelemetry()
	sink := newHeldSink()
	startReaderWith(t, cfg, tel, sink)
	sink.waitBatches(t, 10) // all fetched and handed on, none settled
	waitLag(t, mr, topic, 10)
	for off := range int64(4) {
		sink.ackOffset(t, off, nil)
	}
	waitLag(t, mr, topic, 6)
	sink.ackAll(nil)
	waitLag(t, mr, topic, 0)
}

func TestReaderLagCountsUnsettledRecords(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	produce(t, brokers, flowMessages(10, 0)...)
	checkLagFollowsSettled(t, brokers, testReaderConfig(brokers, "lag"), DefaultTopicFlows)
}

// checkCommitsSoon: with a commit interval far longer than the test, the
// settled offset is committed shortly after the records settle.
func checkCommitsSoon(t *testing.T, brokers []string, cfg ReaderConfig, topic string) {
	t.Helper()
	cfg.CommitInterval = time.Hour
	sink := newHeldSink()
	startReader(t, cfg, sink)
	sink.waitBatches(t, 5)
	start := time.Now()
	sink.ackAll(nil)
	deadline := start.Add(5 * time.Second)
	for {
		got := committedOf(t, brokers, cfg.GroupID, topic)
		if got == 5 {
			t.Logf("committed 5 within %s of settling", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed offset = %d 5s after the records settled, want 5 (commit_interval is 1h)", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReaderCommitsSoonAfterSettling(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	produce(t, brokers, flowMessages(5, 0)...)
	checkCommitsSoon(t, brokers, testReaderConfig(brokers, "soon"), DefaultTopicFlows)
}
