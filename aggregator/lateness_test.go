package aggregator

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
	"github.com/flowship/flowship/schema/synth"
)

// Felix appends the lines of one flush together, stamped with its
// end_time, so its files come in end_time order (spec §1.3). On such
// input allowed_lateness 0 (the Helm chart's) makes exactly the documents
// the default 5m does, from every kind, with windows jittered as Felix's
// are, while holding about half the keys open: a bucket closes when a
// line of a later bucket arrives instead of a window later.
func TestZeroLatenessSameDocumentsOnFelixOrder(t *testing.T) {
	dir := t.TempDir()
	g := synth.DefaultConfig()
	g.FlowsPerWindow, g.L7PerWindow, g.DNSPerWindow = 3000, 300, 300
	g.Windows, g.Jitter = 6, true
	if _, err := synth.New(g).Run(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		kind pipeline.Kind
		file string
	}{
		{pipeline.KindFlow, "flowlogs/flows.log"},
		{pipeline.KindL7, "l7logs/l7.log"},
		{pipeline.KindDNS, "dnslogs/dns.log"},
	} {
		lines := readLines(t, filepath.Join(dir, k.file))
		run := func(lateness time.Duration) (docs []string, peakKeys int) {
			cfg := testConfig()
			cfg.Levels = Levels{2, 2}
			cfg.MaxAge = MaxAge{}
			cfg.AllowedLateness = lateness
			sink := &pipelinetest.Sink{}
			a, err := New(cfg, pipeline.NopTelemetry(), sink)
			if err != nil {
				t.Fatal(err)
			}
			s := a.stream(k.kind)
			for i := 0; i < len(lines); i += 100 {
				var recs []pipeline.Record
				for j := i; j < min(i+100, len(lines)); j++ {
					recs = append(recs, pipeline.Record{Kind: k.kind, Value: lines[j], Source: k.file, Offset: int64(j) * 4096, Line: int64(j + 1)})
				}
				if err := a.Consume(context.Background(), pipeline.Batch{Records: recs, Ack: pipeline.Nop}); err != nil {
					t.Fatal(err)
				}
				s.mu.Lock()
				peakKeys = max(peakKeys, s.openKeys)
				s.mu.Unlock()
			}
			if err := a.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if s.stats.Lines != int64(len(lines)) {
				t.Fatalf("%s: %d of %d lines aggregated", k.kind, s.stats.Lines, len(lines))
			}
			for _, r := range sink.Records() {
				docs = append(docs, r.ID+" "+string(r.Value))
			}
			slices.Sort(docs)
			return docs, peakKeys
		}
		want, wantPeak := run(5 * time.Minute)
		got, gotPeak := run(0)
		if len(want) < 50 {
			t.Fatalf("%s: only %d documents", k.kind, len(want))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d documents with allowed_lateness 0, %d with 5m; they differ", k.kind, len(got), len(want))
		}
		t.Logf("%s: %d documents; at most %d keys open with allowed_lateness 5m, %d with 0", k.kind, len(want), wantPeak, gotPeak)
		if float64(gotPeak) > 0.7*float64(wantPeak) {
			t.Errorf("%s: %d keys open at most with allowed_lateness 0, %d with 5m: want well under", k.kind, gotPeak, wantPeak)
		}
	}
}
