package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowship/flowship/aggregator"
	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/filetail"
	"github.com/flowship/flowship/pipeline/pipelinetest"
	"github.com/flowship/flowship/schema/synth"
)

// TestTailerAggregatorNoStallOnBigWindow wires the real tailer to the real
// aggregator with the tailer's default in-flight limit and small batches:
// a window whose lines span many more batches than the old limit (8) must
// still be read to the end, so the watermark closes the bucket. The
// aggregator acknowledges input only when a bucket is delivered, so a limit
// below one window's batches stopped reading for good (idle flush off).
func TestTailerAggregatorNoStallOnBigWindow(t *testing.T) {
	dir := t.TempDir()
	g := synth.DefaultConfig()
	g.Windows, g.FlowsPerWindow, g.Kinds = 3, 150, []pipeline.Kind{pipeline.KindFlow}
	if _, err := synth.New(g).Run(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	sink := &pipelinetest.Sink{}
	ac := aggregator.DefaultConfig()
	ac.Cluster, ac.Node, ac.IdleFlush = "c", "n", 0
	agg, err := aggregator.New(ac, pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	tc := filetail.DefaultConfig()
	tc.Kind = pipeline.KindFlow
	tc.Paths = []string{filepath.Join(dir, "flowlogs", "flows.log")}
	tc.PositionsFile = filepath.Join(dir, "pos.json")
	tc.BatchLines, tc.Linger, tc.PollInterval = 10, 20*time.Millisecond, 20*time.Millisecond
	tail, err := filetail.New(tc, pipeline.NopTelemetry(), agg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- tail.Run(ctx) }()
	go func() { done <- agg.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for len(sink.Records()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	if len(sink.Records()) == 0 {
		t.Fatalf("no bucket was flushed: the tailer stopped reading before the watermark passed the first window (%d lines per window, batches of %d, max_inflight_batches %d)",
			g.FlowsPerWindow, tc.BatchLines, tc.MaxInflightBatches)
	}
}
