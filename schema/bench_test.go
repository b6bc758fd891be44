package schema

import (
	"testing"

	"github.com/flowship/flowship/pipeline"
	"github.com/tidwall/gjson"
)

func sampleLine(t testing.TB, kind pipeline.Kind, name string) []byte {
	t.Helper()
	for _, s := range samples(t) {
		if s.kind == kind && s.name == name {
			return s.line
		}
	}
	t.Fatalf("no sample %s/%s", kind, name)
	return nil
}

// The hot path: parsing a typical line allocates nothing.
func TestParseAllocatesNothing(t *testing.T) {
	cases := []struct {
		kind  pipeline.Kind
		name  string
		parse func([]byte) error
	}{
		{pipeline.KindFlow, "spec_allowed_level2", func(b []byte) error { var f Flow; return ParseFlow(b, &f) }},
		{pipeline.KindFlow, "spec_denied_level1_staged", func(b []byte) error { var f Flow; return ParseFlow(b, &f) }},
		{pipeline.KindFlow, "extra_keys_ipv6_fwd", func(b []byte) error { var f Flow; return ParseFlow(b, &f) }},
		{pipeline.KindL7, "spec_header_info", func(b []byte) error { var l L7; return ParseL7(b, &l) }},
		{pipeline.KindDNS, "spec_example", func(b []byte) error { var d DNS; return ParseDNS(b, &d) }},
		{pipeline.KindDNS, "unlogged", func(b []byte) error { var d DNS; return ParseDNS(b, &d) }},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind)+"/"+tc.name, func(t *testing.T) {
			line := sampleLine(t, tc.kind, tc.name)
			var err error
			allocs := testing.AllocsPerRun(100, func() { err = tc.parse(line) })
			if err != nil {
				t.Fatal(err)
			}
			if allocs != 0 {
				t.Errorf("%v allocations per parse, want 0", allocs)
			}
		})
	}
	t.Run("decidingPolicy", func(t *testing.T) {
		var f Flow
		if err := ParseFlow(sampleLine(t, pipeline.KindFlow, "spec_allowed_level2"), &f); err != nil {
			t.Fatal(err)
		}
		enforced := f.Policies.Enforced.Strings()
		if a := testing.AllocsPerRun(100, func() { decidingPolicy(enforced) }); a != 0 {
			t.Errorf("%v allocations, want 0", a)
		}
	})
}

func BenchmarkParseFlow(b *testing.B) {
	line := sampleLine(b, pipeline.KindFlow, "spec_allowed_level2")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	var f Flow
	for b.Loop() {
		if err := ParseFlow(line, &f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGJSONGetManyFlow is the naive floor ParseFlow must beat: one
// gjson.GetManyBytes call for the same fields, without validation.
func BenchmarkGJSONGetManyFlow(b *testing.B) {
	line := sampleLine(b, pipeline.KindFlow, "spec_allowed_level2")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	paths := append([]string{"source_labels.labels", "dest_labels.labels", "policies.enforced_policies",
		"policies.all_policies", "policies.pending_policies"}, flowKeys...)
	for b.Loop() {
		if r := gjson.GetManyBytes(line, paths...); len(r) != len(paths) {
			b.Fatal("short result")
		}
	}
}

func BenchmarkParseL7(b *testing.B) {
	line := sampleLine(b, pipeline.KindL7, "spec_header_info")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	var l L7
	for b.Loop() {
		if err := ParseL7(line, &l); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDNS(b *testing.B) {
	line := sampleLine(b, pipeline.KindDNS, "spec_example")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	var d DNS
	for b.Loop() {
		if err := ParseDNS(line, &d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFlowDoc(b *testing.B) {
	var f Flow
	if err := ParseFlow(sampleLine(b, pipeline.KindFlow, "spec_allowed_level2"), &f); err != nil {
		b.Fatal(err)
	}
	d := FlowDocFromView(&f)
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = AppendFlowDoc(buf[:0], &d)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkFlowDocFromView(b *testing.B) {
	var f Flow
	if err := ParseFlow(sampleLine(b, pipeline.KindFlow, "spec_allowed_level2"), &f); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = FlowDocFromView(&f)
	}
}
