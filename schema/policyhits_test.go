package schema

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The kind and namespace a policy hit gets from the legacy name forms
// (spec §2.3; Calico's own reading of its legacy names), written by hand.
func TestPolicyHitKindFromLegacyNames(t *testing.T) {
	cases := []struct{ name, tier, kind, ns string }{
		{"platform.baseline", "platform", "gnp", ""},
		{"platform.staged:baseline", "platform", "sgnp", ""},
		{"shop/default.storefront", "default", "np", "shop"},
		{"shop/default.staged:storefront", "default", "snp", "shop"},
		{"shop/knp.default.allow-web", "default", "knp", "shop"},
		{"shop/staged:knp.default.allow-web", "default", "sknp", "shop"},
		{"__PROFILE__.kns.ci", "__PROFILE__", "pro", "ci"},
		{"__PROFILE__.__NO_MATCH__", "__PROFILE__", "pro", ""},
	}
	for _, c := range cases {
		doc := `{"policies":{"enforced_policies":["0|` + c.tier + `|` + c.name + `|allow|0"]}}`
		hits, bad := PolicyHits([]byte(doc))
		if bad != 0 || len(hits) != 1 {
			t.Fatalf("%s: %d hits, %d bad", c.name, len(hits), bad)
		}
		if hits[0].Kind != c.kind || hits[0].Namespace != c.ns {
			t.Errorf("%s: got %q %q, want %q %q", c.name, hits[0].Kind, hits[0].Namespace, c.kind, c.ns)
		}
	}
}

// The document of the Policy Board case: pass in tier 1, allow in tier 2,
// and (pending) a staged deny in tier 2. The expected hits are written out
// by hand from spec §2.3.
func TestAppendWithPolicyHits(t *testing.T) {
	doc := `{"action":"allow","policies":{"all_policies":["0|t1|t1.p1|pass|0","1|t2|shop/t2.staged:p3|deny|0","2|t2|shop/t2.p2|allow|1"],` +
		`"enforced_policies":["0|t1|t1.p1|pass|0","1|t2|shop/t2.p2|allow|1"],` +
		`"pending_policies":["0|t1|t1.p1|pass|0","1|t2|shop/t2.staged:p3|deny|0","bogus"]},"num_flows":3}` + "\n"
	out := AppendWithPolicyHits([]byte("prefix"), []byte(doc))
	if string(out[:6]) != "prefix" {
		t.Fatalf("dst prefix lost: %q", out)
	}
	var got struct {
		Action     string `json:"action"`
		NumFlows   int    `json:"num_flows"`
		PolicyHits []map[string]any
		Policies   map[string][]string `json:"policies"`
	}
	got.PolicyHits = nil
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(out[6:], &raw); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out[6:])
	}
	if err := json.Unmarshal(out[6:], &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw["policy_hits"], &got.PolicyHits); err != nil {
		t.Fatal(err)
	}
	hit := func(list string, index int, tier, kind, ns, name, action string, rule int) map[string]any {
		return map[string]any{"list": list, "index": float64(index), "tier": tier, "kind": kind,
			"namespace": ns, "name": name, "action": action, "rule": float64(rule)}
	}
	want := []map[string]any{
		hit("enforced", 0, "t1", "gnp", "", "t1.p1", "pass", 0),
		hit("enforced", 1, "t2", "np", "shop", "shop/t2.p2", "allow", 1),
		hit("pending", 0, "t1", "gnp", "", "t1.p1", "pass", 0),
		hit("pending", 1, "t2", "snp", "shop", "shop/t2.staged:p3", "deny", 0),
	}
	if !reflect.DeepEqual(got.PolicyHits, want) {
		t.Errorf("policy_hits\n got %v\nwant %v", got.PolicyHits, want)
	}
	if got.Action != "allow" || got.NumFlows != 3 || len(got.Policies["all_policies"]) != 3 {
		t.Errorf("Calico fields changed: %+v", got)
	}
}

func TestAppendWithPolicyHitsUnchanged(t *testing.T) {
	for _, doc := range []string{
		`{"policies":null,"num_flows":1}`,
		`{"num_flows":1}`,
		`{"policies":{"enforced_policies":[],"pending_policies":[]}}`,
		`{"policies":{"enforced_policies":["0|t|t.p|allow|0"]},"policy_hits":[]}`,
		`not json`,
	} {
		if got := AppendWithPolicyHits(nil, []byte(doc)); string(got) != doc {
			t.Errorf("%s: changed to %s", doc, got)
		}
	}
}

func FuzzAppendWithPolicyHits(f *testing.F) {
	f.Add(`{"policies":{"enforced_policies":["0|t1|t1.p1|pass|0"]}}`)
	f.Add(`{"policies":{"pending_policies":["0|__PROFILE__|__PROFILE__.kns.x|allow"]}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		out := AppendWithPolicyHits(nil, []byte(doc))
		if json.Valid([]byte(doc)) && !json.Valid(out) {
			t.Fatalf("valid %q became invalid %q", doc, out)
		}
	})
}
