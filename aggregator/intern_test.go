package aggregator

import (
	"context"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
	"github.com/flowship/flowship/schema"
	"github.com/flowship/flowship/schema/synth"
)

// intersectLabels must not modify its input: with interning, that slice
// is shared by every entry of the part whose first line carried the same
// labels.
func TestIntersectLabelsLeavesHaveAlone(t *testing.T) {
	have := []string{"app=a", "tier=web", "canary=true"}
	shared := have
	got := intersectLabels(have, schema.List{Raw: `["canary=true","app=a"]`})
	if want := []string{"app=a", "canary=true"}; !slices.Equal(got, want) {
		t.Errorf("intersection %q, want %q", got, want)
	}
	if want := []string{"app=a", "tier=web", "canary=true"}; !slices.Equal(shared, want) {
		t.Errorf("the input became %q, want it untouched %q", shared, want)
	}
	// Nothing dropped: the same slice back, no copy (the steady state).
	if got := intersectLabels(have, schema.List{Raw: `["tier=web","canary=true","app=a","x=y"]`}); unsafe.SliceData(got) != unsafe.SliceData(have) {
		t.Errorf("a superset must return have itself, got a copy %q", got)
	}
	if got := intersectLabels(have, schema.List{Raw: `[]`}); len(got) != 0 {
		t.Errorf("intersection with [] = %q, want empty", got)
	}
}

// Two keys of one part whose first lines carry the same labels, policies
// and names share one copy of them; merging a line that shrinks the
// labels, grows the policy union or replaces process_args of one key
// leaves the other key's document alone (copy-on-write).
func TestInternedValuesSharedAndCopiedOnWrite(t *testing.T) {
	cfg := testConfig()
	cfg.Levels = Levels{0, 0}
	cfg.GroupByPolicy = false
	cfg.MaxAge = MaxAge{}
	a, err := New(cfg, pipeline.NopTelemetry(), &pipelinetest.Sink{})
	if err != nil {
		t.Fatal(err)
	}
	s := a.stream(pipeline.KindFlow)
	send := func(i int, l []byte) {
		t.Helper()
		before := s.stats.Lines
		consumeFlows(t, a, pipeline.Record{Value: l, Offset: int64(i)})
		if s.stats.Lines != before+1 || s.stats.Bad+s.stats.Rejected+s.stats.Filtered != 0 {
			t.Fatalf("line %d not aggregated: %+v", i, s.stats)
		}
	}
	send(0, line(t, baseFlow, map[string]any{"dest_port": 8080}))
	send(1, line(t, baseFlow, map[string]any{"dest_port": 9090}))
	if len(s.open) != 1 {
		t.Fatalf("%d open parts, want 1", len(s.open))
	}
	var p *part
	for _, op := range s.open {
		p = op
	}
	if len(p.flows) != 2 {
		t.Fatalf("%d keys, want 2", len(p.flows))
	}
	x, y := &p.flows[0].doc, &p.flows[1].doc
	for _, c := range []struct {
		name string
		a, b []string
	}{
		{"source_labels", x.SourceLabels, y.SourceLabels},
		{"dest_labels", x.DestLabels, y.DestLabels},
		{"all_policies", x.AllPolicies, y.AllPolicies},
		{"enforced_policies", x.EnforcedPolicies, y.EnforcedPolicies},
		{"process_args", x.ProcessArgs, y.ProcessArgs},
	} {
		if len(c.a) == 0 || unsafe.SliceData(c.a) != unsafe.SliceData(c.b) {
			t.Errorf("%s of the two keys: %q and %q, want one shared non-empty slice", c.name, c.a, c.b)
		}
	}
	if unsafe.StringData(x.SourceNamespace) != unsafe.StringData(y.SourceNamespace) ||
		unsafe.StringData(x.DestNameAggr) != unsafe.StringData(y.DestNameAggr) {
		t.Error("source_namespace and dest_name_aggr of the two keys must share one string")
	}
	wantY := struct{ labels, all, args []string }{slices.Clone(y.SourceLabels), slices.Clone(y.AllPolicies), slices.Clone(y.ProcessArgs)}

	// Key 8080 again: fewer labels, one more policy, explicit args.
	send(2, line(t, baseFlow, map[string]any{
		"dest_port":        8080,
		"bytes_in":         1, // not a policy split copy of line 0
		"source_labels":    map[string]any{"labels": []string{"canary=true", "app=client"}},
		"policies":         map[string]any{"all_policies": []string{"1|default|shop/default.a-first|allow|0"}, "enforced_policies": []string{}, "pending_policies": []string{}},
		"process_args":     []string{"--serve"},
		"num_process_args": 1,
	}))
	if want := []string{"app=client", "canary=true"}; !slices.Equal(x.SourceLabels, want) {
		t.Errorf("key 8080 source_labels %q, want %q", x.SourceLabels, want)
	}
	if len(x.AllPolicies) != 2 || !slices.Equal(x.ProcessArgs, []string{"--serve"}) {
		t.Errorf("key 8080 all_policies %q process_args %q, want two policies and [--serve]", x.AllPolicies, x.ProcessArgs)
	}
	if !slices.Equal(y.SourceLabels, wantY.labels) || !slices.Equal(y.AllPolicies, wantY.all) || !slices.Equal(y.ProcessArgs, wantY.args) {
		t.Errorf("key 9090 changed by a merge into key 8080: labels %q policies %q args %q, want %q %q %q",
			y.SourceLabels, y.AllPolicies, y.ProcessArgs, wantY.labels, wantY.all, wantY.args)
	}
}

// The table holds at most maxInterned values; past that it hands out
// private copies and no id (so no line is taken as identical).
func TestInternTableBounded(t *testing.T) {
	var tab internTable
	l := schema.List{Raw: `["a","b"]`}
	id := tab.id(l)
	first := tab.List(l)
	if id == 0 || !tab.same(id, l) || !slices.Equal(first, []string{"a", "b"}) || cap(first) != 2 {
		t.Fatalf("interned id %d %q (cap %d), want an id and [a b] with cap 2", id, first, cap(first))
	}
	again := schema.List{Raw: strings.Clone(l.Raw)}
	if tab.id(again) != id || unsafe.SliceData(tab.List(again)) != unsafe.SliceData(first) {
		t.Error("the same raw JSON must give the same id and slice")
	}
	if tab.same(id, schema.List{Raw: `["a", "b"]`}) || tab.same(0, schema.List{}) {
		t.Error("same must compare the raw JSON, and id 0 matches nothing")
	}
	tab.n = maxInterned
	if full := tab.List(schema.List{Raw: `["c"]`}); !slices.Equal(full, []string{"c"}) {
		t.Errorf("full table: %q, want [c]", full)
	}
	if tab.id(schema.List{Raw: `["d"]`}) != 0 || tab.String("e") != "e" {
		t.Error("full table: id must be 0 and String a copy")
	}
	if len(tab.lists) != 1 || len(tab.ids) != 1 || len(tab.strs) != 0 || tab.n != maxInterned {
		t.Errorf("full table grew: %d lists, %d strings, n %d", len(tab.lists), len(tab.strs), tab.n)
	}
}

// A slab of flowSlabSize entries is one allocation; at 1 KiB an entry it
// fills 16 whole pages, a few bytes more and the allocator rounds the
// slab up by a page (128 bytes more per key).
func TestFlowEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(flowEntry{}); n > 1024 {
		t.Errorf("flowEntry is %d bytes, want at most 1024", n)
	}
}

// maxHeapPerOpenKey is the live heap an open flow key may cost with
// labels and policies on, at level 2 on the generator's lines: entry,
// key, its map slot and source identities, shared values amortised (and
// the stream's fixed scratch, divided by the keys). Measured: 2269 bytes
// before interning (every key copied its labels, four policy lists and
// names; 2358 with parse-ahead's line slots), 1761 after (1849 with
// parse-ahead).
const maxHeapPerOpenKey = 2048

// TestHeapPerOpenKey measures the live heap one open flow key costs (the
// quantity docs/operations.md sizes the collector with), on lines with
// labels and policies on: the heap marked live after a collection, with
// every generated line merged into open parts, minus the heap before.
func TestHeapPerOpenKey(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 20k lines")
	}
	dir := t.TempDir()
	g := synth.DefaultConfig()
	g.FlowsPerWindow, g.L7PerWindow, g.DNSPerWindow = 20000, 0, 0
	g.Workloads, g.Namespaces = 200, 20
	if _, err := synth.New(g).Run(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Levels = Levels{2, 2}
	cfg.MaxAge = MaxAge{}
	lines := readLines(t, filepath.Join(dir, "flowlogs", "flows.log"))
	recs := make([]pipeline.Record, len(lines))
	for i, l := range lines {
		recs[i] = pipeline.Record{Kind: pipeline.KindFlow, Value: l, Source: "flows.log", Offset: int64(i * 2000)}
	}
	a, err := New(cfg, pipeline.NopTelemetry(), &pipelinetest.Sink{})
	if err != nil {
		t.Fatal(err)
	}
	s := a.stream(pipeline.KindFlow)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before, mallocs, total := ms.HeapAlloc, ms.Mallocs, ms.TotalAlloc
	for i := 0; i < len(recs); i += 1000 {
		consumeFlows(t, a, recs[i:min(i+1000, len(recs))]...)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	after := ms.HeapAlloc
	mallocs, total = ms.Mallocs-mallocs, ms.TotalAlloc-total
	keys := 0
	for _, p := range s.open {
		keys += p.len()
	}
	runtime.KeepAlive(recs)
	runtime.KeepAlive(s)
	if s.stats.Lines != int64(len(recs)) || keys < 5000 {
		t.Fatalf("%d of %d lines aggregated into %d keys", s.stats.Lines, len(recs), keys)
	}
	per := float64(after-before) / float64(keys)
	t.Logf("%d lines, %d open keys, %.0f bytes of live heap per open key; allocated %.1f objects, %.0f bytes per key",
		len(recs), keys, per, float64(mallocs)/float64(keys), float64(total)/float64(keys))
	if per > maxHeapPerOpenKey {
		t.Errorf("%.0f bytes of live heap per open key, want at most %d", per, maxHeapPerOpenKey)
	}
}

// Once a part's table is full, values are copied per key and no line is
// taken as repeating a key's list: the documents must be the same as
// with interning. The tables are filled up after every line, so only the
// first key of each part interns anything.
func TestInternTableFullSameDocuments(t *testing.T) {
	dir := t.TempDir()
	g := synth.DefaultConfig()
	g.FlowsPerWindow, g.L7PerWindow, g.DNSPerWindow = 2000, 0, 0
	if _, err := synth.New(g).Run(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(dir, "flowlogs", "flows.log"))
	run := func(level int, groupByPolicy, full bool) []string {
		cfg := testConfig()
		cfg.Levels = Levels{level, level}
		cfg.GroupByPolicy = groupByPolicy
		cfg.MaxAge = MaxAge{}
		a, err := New(cfg, pipeline.NopTelemetry(), &pipelinetest.Sink{})
		if err != nil {
			t.Fatal(err)
		}
		s := a.stream(pipeline.KindFlow)
		for i, l := range lines {
			consumeFlows(t, a, pipeline.Record{Value: l, Offset: int64(i * 2000)})
			for _, p := range s.open {
				if full {
					p.intern.n = maxInterned
				}
			}
		}
		if s.stats.Lines != int64(len(lines)) || s.stats.Bad+s.stats.Rejected+s.stats.Filtered != 0 {
			t.Fatalf("stats %+v: every line must be aggregated", s.stats)
		}
		var docs []string
		for _, bucket := range slices.Sorted(maps.Keys(s.open)) {
			p := s.open[bucket]
			if full && len(p.intern.lists) > numMergeLists {
				t.Errorf("full table of bucket %d holds %d lists", bucket, len(p.intern.lists))
			}
			for _, e := range p.flows {
				d := e.finish(schema.Meta{})
				docs = append(docs, string(schema.AppendFlowDoc(nil, &d)))
			}
		}
		return docs
	}
	for _, level := range []int{1, 2} {
		for _, gbp := range []bool{true, false} {
			want, got := run(level, gbp, false), run(level, gbp, true)
			if len(want) < 100 {
				t.Fatalf("level %d: %d documents", level, len(want))
			}
			if !slices.Equal(got, want) {
				t.Errorf("level %d group_by_policy %v: documents differ with full intern tables", level, gbp)
			}
		}
	}
}

// consumeFlows hands flow records (Kind and Source filled in here) to a
// in one batch whose acknowledgement is ignored.
func consumeFlows(t testing.TB, a *Aggregator, recs ...pipeline.Record) {
	t.Helper()
	for i := range recs {
		recs[i].Kind, recs[i].Source = pipeline.KindFlow, "flows.log"
	}
	if err := a.Consume(context.Background(), pipeline.Batch{Records: recs, Ack: pipeline.Nop}); err != nil {
		t.Fatal(err)
	}
}
