package filetail

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// BenchmarkRead measures reading a file of 1KiB lines end to end.
func BenchmarkRead(b *testing.B) {
	dir := b.TempDir()
	line := `{"start_time":1749542400,"pad":"` + strings.Repeat("x", 1000) + `"}` + "\n"
	const n = 20000
	appendFile(&testing.T{}, filepath.Join(dir, "flows.log"), strings.Repeat(line, n))
	b.SetBytes(int64(n * len(line)))
	b.ReportAllocs()
	for b.Loop() {
		cfg := testConfig(dir)
		cfg.PositionsFile = filepath.Join(b.TempDir(), "p.json")
		var got atomic.Int64
		done := make(chan struct{})
		next := pipeline.ConsumerFunc(func(_ context.Context, bt pipeline.Batch) error {
			if got.Add(int64(len(bt.Records))) == n {
				close(done)
			}
			bt.Ack(nil)
			return nil
		})
		tl, err := New(cfg, pipeline.NopTelemetry(), next)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ended := make(chan struct{})
		go func() { _ = tl.Run(ctx); close(ended) }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			b.Fatal("timeout")
		}
		cancel()
		<-ended
	}
}
