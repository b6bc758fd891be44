package aggregator

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"unsafe"

	"github.com/flowship/flowship/pipeline"
)

// keepSink keeps output batches without copying them, for the test to
// acknowledge.
type keepSink struct {
	mu      sync.Mutex
	batches []pipeline.Batch
}

func (s *keepSink) Consume(_ context.Context, b pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, b)
	return nil
}

// The memory of an output batch is reused for later batches once (and
// only once) the next stage acknowledged it without error: a batch not
// yet acknowledged, or failed, keeps its bytes however many batches
// follow.
func TestEncodeBuffersReusedOnlyAfterSuccessfulAck(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBatchRecords = 4
	sink := &keepSink{}
	a, err := New(cfg, pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	type kept struct {
		b    pipeline.Batch
		vals [][]byte // copies taken when handed over
	}
	var guarded []kept        // not acknowledged, or failed: must never change
	acked := map[*byte]bool{} // first bytes of batches acknowledged with nil
	reused := 0
	for round := range 30 {
		var lines [][]byte
		for i := range 8 {
			lines = append(lines, line(t, baseFlow, map[string]any{"dest_port": 1000 + round*8 + i}))
		}
		consume(t, a, pipeline.KindFlow, pipeline.Nop, lines...)
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		sink.mu.Lock()
		batches := sink.batches
		sink.batches = nil
		sink.mu.Unlock()
		if len(batches) != 2 {
			t.Fatalf("round %d: %d output batches, want 2", round, len(batches))
		}
		for _, b := range batches {
			if acked[unsafe.SliceData(b.Records[0].Value)] {
				reused++
			}
		}
		for i, b := range batches {
			k := kept{b: b}
			for _, r := range b.Records {
				k.vals = append(k.vals, bytes.Clone(r.Value))
			}
			switch {
			case round%3 == 0 && i == 0:
				b.Ack(errors.New("refused")) // failed: never reused
				guarded = append(guarded, k)
			case round%3 == 1 && i == 1:
				guarded = append(guarded, k) // never acknowledged
			default:
				acked[unsafe.SliceData(b.Records[0].Value)] = true
				b.Ack(nil)
			}
		}
	}
	for i, k := range guarded {
		for j, r := range k.b.Records {
			if !bytes.Equal(r.Value, k.vals[j]) {
				t.Fatalf("guarded batch %d, record %d was overwritten:\nnow  %s\nwas  %s", i, j, r.Value, k.vals[j])
			}
		}
	}
	if reused == 0 {
		t.Error("no buffer of an acknowledged batch was reused")
	}
}
