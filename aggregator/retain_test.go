package aggregator

import (
	"context"
	"runtime"
	"testing"
	"weak"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

// TestFlushedPartNotRetainedUntilAck: once a part is flushed, its
// documents are encoded and its entries (about 2 KB a key with labels and
// policies) are garbage; only the acknowledgement bookkeeping waits for
// Kafka. Before, the part's ack captured the part itself, so every
// flushed part stayed in memory until all of its documents were
// acknowledged: with a slow Kafka, open keys plus in-flight keys (issue
// 12: the collect memory test's peak live heap went from 136 to 103 MiB).
func TestFlushedPartNotRetainedUntilAck(t *testing.T) {
	cfg := testConfig()
	cfg.AllowedLateness = 0
	sink := &pipelinetest.Sink{Hold: true}
	a, err := New(cfg, pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	s := a.stream(pipeline.KindFlow)
	consume(t, a, pipeline.KindFlow, pipeline.Nop, line(t, baseFlow, nil))
	var wp weak.Pointer[part]
	for _, p := range s.open {
		wp = weak.Make(p)
	}
	if wp.Value() == nil {
		t.Fatal("no open part after the first line")
	}
	// A line of the next window moves the watermark past the first
	// bucket's deadline: it is flushed, and its document is held,
	// unacknowledged, by the sink.
	consume(t, a, pipeline.KindFlow, pipeline.Nop, line(t, baseFlow, map[string]any{"start_time": 1749542700, "end_time": 1749542997}))
	if got := len(sink.Records()); got != 1 {
		t.Fatalf("%d documents handed on, want the first bucket's 1", got)
	}
	runtime.GC()
	runtime.GC()
	if wp.Value() != nil {
		t.Error("the flushed part is still reachable while its documents wait for their ack")
	}
	sink.AckAll(nil)
	_ = a.Flush(context.Background())
}
