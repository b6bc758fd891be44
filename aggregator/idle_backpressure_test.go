package aggregator

import (
	"context"
	"testing"
	"testing/synctest"
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
// synctest: the sink blocks on a channel and no stream lock is held while it
// does, so the bubble's clock runs through several idle ticks exactly.
func TestIdleFlushIgnoresTimeBlockedDownstream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		// The bubble's clock starts at 2000-01-01T00:00:00Z. Bucket
		// [now-10m, now-5m), then a line of [now-5m, now): that bucket
		// ends now, so an idle flush idle_flush after it would close it
		// by the wall-clock rule.
		now := time.Now().Unix()
		var rec ackRecorder
		consume(t, a, pipeline.KindFlow, rec.ack(0), line(t, baseFlow, map[string]any{"start_time": now - 600, "end_time": now - 303}))
		// The next line moves the watermark past the first bucket, whose
		// document then waits in the blocked next stage.
		next := line(t, baseFlow, map[string]any{"start_time": now - 300, "end_time": now - 3})
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			_ = a.Consume(ctx, pipeline.Batch{Records: []pipeline.Record{{Kind: pipeline.KindFlow, Value: next, Source: "f.log", Offset: 1, Line: 2}}, Ack: rec.ack(1)})
		}()
		<-sink.blocked
		time.Sleep(3 * cfg.IdleFlush) // several idle ticks while the stage is blocked
		synctest.Wait()
		close(sink.release)
		<-sent
		// The next line of the same bucket follows well within idle_flush of
		// the blocked Consume's return (the tailer reads on meanwhile).
		time.Sleep(cfg.IdleFlush / 2)
		synctest.Wait()
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
			if r.Time.Unix() == now-300 {
				parts = append(parts, r.ID)
			}
		}
		if len(parts) != 1 {
			t.Errorf("bucket [now-5m,now) went out in %d documents, want 1: an idle flush counted the time the next stage blocked as quiet input and split the bucket", len(parts))
		}
	})
}

// TestIdleFlushClosesQuietBucket is the positive control of the test
// above: without the blocked stage the same quiet time does flush the
// bucket, so the test above can see a split.
func TestIdleFlushClosesQuietBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.IdleFlush = 300 * time.Millisecond
		cfg.AllowedLateness = 0
		var sink pipelinetest.Sink
		a, err := New(cfg, pipeline.NopTelemetry(), &sink)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- a.Run(ctx) }()
		now := time.Now().Unix()
		var rec ackRecorder
		consume(t, a, pipeline.KindFlow, rec.ack(0), line(t, baseFlow, map[string]any{"start_time": now - 300, "end_time": now - 3}))
		time.Sleep(3 * cfg.IdleFlush)
		synctest.Wait()
		if n := len(sink.Records()); n != 1 {
			t.Errorf("%d documents after 3×idle_flush of quiet input, want the bucket flushed (1)", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
