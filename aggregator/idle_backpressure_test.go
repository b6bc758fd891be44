package aggregator

import (
	"context"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

// blockingSink blocks its first Consume until release is closed (a Kafka
// writer whose in-flight limit is reached), then records like Sink.
type blockingSink struct {
	pipelinetest.Sink
	release chan struct{}
	blocked chan struct{}
	first   bool
}

func (s *blockingSink) Consume(ctx context.Context, b pipeline.Batch) error {
	if !s.first {
		s.first = true
		close(s.blocked)
		<-s.release
	}
	return s.Sink.Consume(ctx, b)
}

// TestIdleFlushIgnoresTimeBlockedDownstream: while a Consume waits for a
// slow next stage (backpressure), no input can arrive, so that time is not
// idleness of the input. Lines that follow soon after belong to the bucket
// they would have joined without the wait; an idle flush in between would
// split it into two parts (more documents, each with part of the counts).
// Real time, not synctest: the idle tick waits on the stream's mutex, which
// synctest does not treat as durably blocking.
func TestIdleFlushIgnoresTimeBlockedDownstream(t *testing.T) {
	cfg := testConfig()
	cfg.IdleFlush = 300 * time.Millisecond
	cfg.AllowedLateness = 0
	sink := &blockingSink{release: make(chan struct{}), blocked: make(chan struct{})}
	a, err := New(cfg, pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	var rec ackRecorder
	// Bucket [08:00,08:05) (2025, long ended by the wall clock).
	consume(t, a, pipeline.KindFlow, rec.ack(0), line(t, baseFlow, map[string]any{"end_time": 1749542697}))
	// A line of bucket [08:05,08:10) moves the watermark past the first
	// bucket, whose document then waits in the blocked next stage.
	next := line(t, baseFlow, map[string]any{"start_time": 1749542697, "end_time": 1749542997})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		_ = a.Consume(ctx, pipeline.Batch{Records: []pipeline.Record{{Kind: pipeline.KindFlow, Value: next, Source: "f.log", Offset: 1, Line: 2}}, Ack: rec.ack(1)})
	}()
	<-sink.blocked
	time.Sleep(3 * cfg.IdleFlush) // several idle ticks while the stage is blocked
	close(sink.release)
	<-sent
	// The next line of the same bucket follows well within idle_flush of
	// the blocked Consume's return (the tailer reads on meanwhile).
	time.Sleep(cfg.IdleFlush / 2)
	consume(t, a, pipeline.KindFlow, rec.ack(2), next)
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, r := range sink.Records() {
		if r.Time.Unix() == 1749542700 {
			parts = append(parts, r.ID)
		}
	}
	if len(parts) != 1 {
		t.Errorf("bucket 08:05 went out in %d documents, want 1: an idle flush counted the time the next stage blocked as quiet input and split the bucket", len(parts))
	}
}
