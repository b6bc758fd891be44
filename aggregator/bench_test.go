package aggregator

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
	"github.com/flowship/flowship/schema/synth"
)

// steadyStream returns a flow stream that has seen the spec §3.5 lines
// once, and those lines as records: aggregating them again only merges
// into existing entries.
func steadyStream(t testing.TB, level int) (*stream, *inBatch, []pipeline.Record) {
	cfg := testConfig()
	cfg.Levels = Levels{level, level}
	a, err := New(cfg, pipeline.NopTelemetry(), &pipelinetest.Sink{})
	if err != nil {
		t.Fatal(err)
	}
	s := a.stream(pipeline.KindFlow)
	var recs []pipeline.Record
	for i, l := range readLines(t, "testdata/spec35_level0/input.jsonl") {
		recs = append(recs, pipeline.Record{Kind: pipeline.KindFlow, Value: l, Source: "flows.log", Offset: int64(i * 1000)})
	}
	b := s.rs.register(pipeline.Nop)
	s.lines(recs, b)
	return s, b, recs
}

// The parse-filter-key-merge path allocates nothing per line once the
// keys exist: on the spec's lines, and with labels and policies on
// (issue 12, item 5), where a line repeating a key's last label or
// policy list skips the merge and one that drops nothing returns the
// entry's (interned, shared) slice itself.
func TestAggregateLineAllocatesNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream func(testing.TB, int) (*stream, *inBatch, []pipeline.Record)
		levels []int
		runs   int
	}{
		{"spec lines", steadyStream, []int{0, 2}, 200},
		{"labels and policies", synthStream, []int{1, 2}, 10},
	} {
		for _, level := range tc.levels {
			s, b, recs := tc.stream(t, level)
			n := testing.AllocsPerRun(tc.runs, func() {
				for i := range recs {
					s.line(&recs[i], b, 0, false)
				}
			})
			if n != 0 {
				t.Errorf("%s, level %d: %v allocations per %d lines", tc.name, level, n, len(recs))
			}
		}
	}
}

func BenchmarkAggregateFlowLine(b *testing.B) {
	s, ib, recs := steadyStream(b, 2)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.line(&recs[i%len(recs)], ib, 0, false)
		i++
	}
}

func BenchmarkMergeFlow(b *testing.B) {
	f := parseFlow(b, []byte(baseFlow))
	maskFlow(f, 2)
	e := new(flowEntry)
	initFlowEntry(e, f, 2)
	b.ReportAllocs()
	for b.Loop() {
		e.add(f, false, 0, true)
	}
}

// BenchmarkEmitFlowPart encodes every document of an open flow part, as
// a flush does; its cost is paid per document, not per line.
func BenchmarkEmitFlowPart(b *testing.B) {
	s, _, _ := steadyStream(b, 0)
	var p *part
	for _, op := range s.open {
		if p == nil || op.len() > p.len() {
			p = op
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		s.emit(p)
		for _, ob := range s.out {
			s.encode(ob)
		}
		s.out = s.out[:0]
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*p.len()), "ns/doc")
}

// synthStream is steadyStream on the lines Calico Enterprise writes with
// its operator's defaults: labels and policy traces on (~1.7 KB a line),
// from the generator, one Felix window, every key already open.
func synthStream(t testing.TB, level int) (*stream, *inBatch, []pipeline.Record) {
	dir := t.TempDir()
	g := synth.DefaultConfig()
	g.FlowsPerWindow, g.L7PerWindow, g.DNSPerWindow = 2000, 0, 0
	if !g.IncludeLabels || !g.IncludePolicies {
		t.Fatal("the generator's defaults must have labels and policies on")
	}
	if _, err := synth.New(g).Run(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Levels = Levels{level, level}
	cfg.MaxAge = MaxAge{}
	a, err := New(cfg, pipeline.NopTelemetry(), &pipelinetest.Sink{})
	if err != nil {
		t.Fatal(err)
	}
	s := a.stream(pipeline.KindFlow)
	var recs []pipeline.Record
	for i, l := range readLines(t, filepath.Join(dir, "flowlogs", "flows.log")) {
		recs = append(recs, pipeline.Record{Kind: pipeline.KindFlow, Value: l, Source: "flows.log", Offset: int64(i * 2000)})
	}
	if len(recs) < 2000 {
		t.Fatalf("%d lines generated", len(recs))
	}
	b := s.rs.register(pipeline.Nop)
	s.lines(recs, b)
	if s.stats.Lines != int64(len(recs)) || s.stats.Bad+s.stats.Rejected+s.stats.Filtered != 0 {
		t.Fatalf("stats %+v: every line must be aggregated", s.stats)
	}
	return s, b, recs
}

func BenchmarkAggregateFlowLineLabelsPolicies(b *testing.B) {
	s, ib, recs := synthStream(b, 2)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.line(&recs[i%len(recs)], ib, 0, false)
		i++
	}
}
