package schema

import (
	"testing"

	"github.com/tidwall/gjson"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema/synth"
)

// realShapedFlowLines are Felix-shaped flow lines from the generator with
// Felix's defaults (labels and policies included, ~1.3 KB each), the lines
// both parse benchmarks below read.
func realShapedFlowLines(b *testing.B) [][]byte {
	b.Helper()
	g := synth.DefaultConfig()
	g.FlowsPerWindow = 2000
	g.FelixDefaultLevels = true
	lines := synth.New(g).Next(pipeline.KindFlow).Lines(pipeline.KindFlow)
	if len(lines) < 100 {
		b.Fatalf("generator gave %d flow lines", len(lines))
	}
	return lines
}

func benchLines(b *testing.B, lines [][]byte, parse func([]byte) error) {
	var total int64
	for _, l := range lines {
		total += int64(len(l))
	}
	b.SetBytes(total / int64(len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := parse(lines[i]); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % len(lines)
	}
}

// BenchmarkParseFlowRealShaped: ParseFlow (schema/scan.go, the hand-written
// one-pass scanner that the collector uses) on real-shaped lines.
func BenchmarkParseFlowRealShaped(b *testing.B) {
	var f Flow
	benchLines(b, realShapedFlowLines(b), func(l []byte) error { return ParseFlow(l, &f) })
}

// gjsonFlow is what the simplest gjson program keeps of a flow line: each
// top-level value, numbers as int64, strings as strings, labels and
// policies as their raw JSON.
type gjsonFlow struct {
	ints map[string]int64
	strs map[string]string
	raw  map[string]string
}

// BenchmarkGJSONForEachFlowRealShaped is the simplest gjson equivalent of
// ParseFlow, the honest baseline: one pass, gjson.ParseBytes(line).ForEach
// over the top-level keys, each value kept by its type.
func BenchmarkGJSONForEachFlowRealShaped(b *testing.B) {
	f := gjsonFlow{ints: map[string]int64{}, strs: map[string]string{}, raw: map[string]string{}}
	benchLines(b, realShapedFlowLines(b), func(l []byte) error {
		gjson.ParseBytes(l).ForEach(func(k, v gjson.Result) bool {
			switch v.Type {
			case gjson.Number:
				f.ints[k.Str] = v.Int()
			case gjson.String:
				f.strs[k.Str] = v.Str
			default:
				f.raw[k.Str] = v.Raw
			}
			return true
		})
		return nil
	})
}

// TestGJSONBaselineReadsWhatParseFlowReads: the baseline is no strawman and
// no shortcut: on every real-shaped line it finds the same values ParseFlow
// does.
func TestGJSONBaselineReadsWhatParseFlowReads(t *testing.T) {
	g := synth.DefaultConfig()
	g.FlowsPerWindow = 200
	for _, l := range synth.New(g).Next(pipeline.KindFlow).Lines(pipeline.KindFlow) {
		var f Flow
		if err := ParseFlow(l, &f); err != nil {
			t.Fatal(err)
		}
		r := gjson.ParseBytes(l)
		if r.Get("bytes_in").Int() != f.BytesIn || r.Get("num_flows").Int() != f.NumFlows ||
			r.Get("source_namespace").Str != string(f.SourceNamespace) || r.Get("action").Str != string(f.Action) {
			t.Fatalf("gjson and ParseFlow disagree on %s", l)
		}
	}
}

// BenchmarkParseFlowBenchmarkWorkload: ParseFlow on lines shaped like the
// benchmark harness's workload "on" (`flowship gen --workloads 200
// --namespaces 20 --deny-ratio 0.1`: level-0 lines with labels and policy
// traces, ~1.7 KB each). benchmarks/results/collect-2026-12-03-notes.md
// uses it as the parsing share of a lower bound on collect's CPU.
func BenchmarkParseFlowBenchmarkWorkload(b *testing.B) {
	g := synth.DefaultConfig()
	g.FlowsPerWindow, g.Workloads, g.Namespaces, g.DenyRatio = 20000, 200, 20, 0.1
	lines := synth.New(g).Next(pipeline.KindFlow).Lines(pipeline.KindFlow)
	var f Flow
	benchLines(b, lines, func(l []byte) error { return ParseFlow(l, &f) })
}
