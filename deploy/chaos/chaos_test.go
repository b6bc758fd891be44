package main

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestScheduleIsSeededAndCoversEveryType(t *testing.T) {
	types := faultTypeNames()
	a := schedule(rand.New(rand.NewPCG(7, 0x13)), 50, types)
	b := schedule(rand.New(rand.NewPCG(7, 0x13)), 50, types)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different orders:\n%v\n%v", a, b)
	}
	c := schedule(rand.New(rand.NewPCG(8, 0x13)), 50, types)
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same order")
	}
	count := map[string]int{}
	for _, x := range a {
		count[x]++
	}
	// 50 faults over 12 types: each 4 or 5 times ("several of each").
	for _, typ := range types {
		if n := count[typ]; n < 50/len(types) || n > 50/len(types)+1 {
			t.Errorf("%s drawn %d times in 50, want %d or %d", typ, n, 50/len(types), 50/len(types)+1)
		}
	}
}

func TestCompareClassifiesEveryDocument(t *testing.T) {
	doc := func(id string, bytesIn int) json.RawMessage {
		return json.RawMessage(`{"num_flows":1,"bytes_in":` + itoa(bytesIn) + `,"flowship":{"id":"` + id + `","bucket_start":600}}`)
	}
	want := map[string]json.RawMessage{"a": doc("a", 1), "b": doc("b", 2), "c": doc("c", 3), "d": doc("d", 4)}
	got := map[string][]hit{
		"a": {{"i1", doc("a", 1)}},                      // as expected
		"b": {{"i1", doc("b", 4)}},                      // counted twice
		"c": {{"i1", doc("c", 3)}, {"i2", doc("c", 3)}}, // in two indices
		"x": {{"i1", doc("x", 9)}},                      // not in the oracle
		// d: missing
	}
	findings, stored := compare(want, got)
	if stored != 5 {
		t.Errorf("stored = %d, want 5", stored)
	}
	var saw []string
	for _, f := range findings {
		saw = append(saw, f.id+":"+f.what)
		if f.kind != "flows" || f.bucket != 600 {
			t.Errorf("%s: kind %q bucket %d, want flows 600", f.id, f.kind, f.bucket)
		}
	}
	if w := []string{"b:differing", "c:duplicated", "x:extra", "d:missing"}; !sameSet(saw, w) {
		t.Errorf("findings %v, want %v", saw, w)
	}
	for _, f := range findings {
		if f.id == "b" && !strings.Contains(f.detail, "bytes_in(want 2 got 4)") {
			t.Errorf("differing detail %q does not name bytes_in 2 vs 4", f.detail)
		}
	}
}

func TestAttributeCountsFindingsNearTheirFault(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	windows := []window{
		{bucket: 300, written: t0},                        // near fault 1 (starts 10 s later)
		{bucket: 600, written: t0.Add(5 * time.Minute)},   // near no fault
		{bucket: 900, written: t0.Add(150 * time.Second)}, // during fault 2
	}
	faults := []*fault{
		{n: 1, typ: "collect-kill", start: t0.Add(10 * time.Second), end: t0.Add(12 * time.Second)},
		{n: 2, typ: "es-outage", start: t0.Add(2 * time.Minute), end: t0.Add(3 * time.Minute)},
	}
	want := map[string]json.RawMessage{
		"a": json.RawMessage(`{"flowship":{"bucket_start":300}}`),
		"b": json.RawMessage(`{"flowship":{"bucket_start":600}}`),
		"c": json.RawMessage(`{"flowship":{"bucket_start":900}}`),
	}
	findings := []finding{{id: "a", what: missing, bucket: 300}, {id: "b", what: extra, bucket: 600}, {id: "c", what: differing, bucket: 900}}
	rows, un, total := attribute(faults, windows, want, findings, []string{"collect-kill", "es-outage"})
	if r := rows[0]; r.injected != 1 || r.expected != 1 || r.missing != 1 || r.extra != 0 {
		t.Errorf("collect-kill row %+v, want 1 injected, 1 expected, 1 missing", r)
	}
	if r := rows[1]; r.injected != 1 || r.expected != 1 || r.differing != 1 || r.missing+r.extra != 0 {
		t.Errorf("es-outage row %+v, want 1 injected, 1 expected, 1 differing", r)
	}
	if faults[0].found[missing] != 1 || faults[1].found[differing] != 1 {
		t.Errorf("per-fault counts %v %v", faults[0].found, faults[1].found)
	}
	if un.extra != 1 || un.missing != 0 {
		t.Errorf("unattributed %+v, want the extra document", un)
	}
	if total.injected != 2 || total.expected != 3 || total.missing != 1 || total.extra != 1 || total.differing != 1 {
		t.Errorf("total %+v", total)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// The indexer adds policy_hits to flow documents; a stored document with
// them matches the expected one without, and one whose hits disagree with
// its policies does not.
func TestCompareExpectsTheIndexersPolicyHits(t *testing.T) {
	want := json.RawMessage(`{"num_flows":1,"policies":{"enforced_policies":["0|t1|t1.p1|allow|0"]},"flowship":{"id":"a","bucket_start":600}}`)
	ph := `{"list":"enforced","index":0,"tier":"t1","kind":"gnp","namespace":"","name":"t1.p1","action":"allow","rule":0}`
	stored := json.RawMessage(`{"num_flows":1,"policies":{"enforced_policies":["0|t1|t1.p1|allow|0"]},"flowship":{"id":"a","bucket_start":600},"policy_hits":[` + ph + `]}`)
	if f, _ := compare(map[string]json.RawMessage{"a": want}, map[string][]hit{"a": {{index: "i", source: stored}}}); len(f) != 0 {
		t.Errorf("findings %+v, want none", f)
	}
	wrong := json.RawMessage(strings.Replace(string(stored), `"action":"allow"`, `"action":"deny"`, 1))
	if f, _ := compare(map[string]json.RawMessage{"a": want}, map[string][]hit{"a": {{index: "i", source: wrong}}}); len(f) != 1 || f[0].what != differing {
		t.Errorf("findings %+v, want one differing", f)
	}
}
