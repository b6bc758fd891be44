package filetail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/flowship/flowship/pipeline"
)

// copySink copies every line in Consume (as the aggregator does: it keeps
// nothing of a line once Consume returned), acks at once, and notes the
// first byte of each batch's line memory.
type copySink struct {
	mu     sync.Mutex
	lines  []string
	arenas []*byte
}

func (s *copySink) Consume(_ context.Context, b pipeline.Batch) error {
	s.mu.Lock()
	for _, r := range b.Records {
		s.lines = append(s.lines, string(r.Value))
	}
	s.arenas = append(s.arenas, unsafe.SliceData(b.Records[0].Value))
	s.mu.Unlock()
	b.Ack(nil)
	return nil
}

func (s *copySink) snapshot() ([]string, []*byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...), append([]*byte(nil), s.arenas...)
}

// With ReuseLines every batch after the first is read into the memory of
// the one before, and the lines still arrive whole, in order; without it
// each batch has memory of its own (the next stage may keep lines).
func TestReuseLines(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		t.Run(fmt.Sprint("reuse=", reuse), func(t *testing.T) {
			dir := t.TempDir()
			var want []string
			var file strings.Builder
			for i := range 3000 {
				l := fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("p", i%97))
				want = append(want, l)
				file.WriteString(l + "\n")
			}
			if err := os.WriteFile(filepath.Join(dir, "flows.log"), []byte(file.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(dir)
			cfg.BatchLines = 100
			sink := &copySink{}
			startWith(t, cfg, sink, func(tl *Tailer) {
				if reuse {
					tl.ReuseLines()
				}
			})
			deadline := time.Now().Add(10 * time.Second)
			var got []string
			var arenas []*byte
			for len(got) < len(want) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
				got, arenas = sink.snapshot()
			}
			if len(got) != len(want) {
				t.Fatalf("%d lines arrived, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("line %d = %q, want %q", i, got[i], want[i])
				}
			}
			same := 0
			for i := 1; i < len(arenas); i++ {
				if arenas[i] == arenas[0] {
					same++
				}
			}
			if reuse && same != len(arenas)-1 {
				t.Errorf("%d of %d later batches reused the first batch's memory, want all", same, len(arenas)-1)
			}
			if !reuse && same != 0 {
				t.Errorf("%d batches shared memory without ReuseLines", same)
			}
		})
	}
}
