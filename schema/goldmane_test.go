package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

// The flow of projectcalico/calico goldmane/pkg/emitter/emitter_test.go
// (TestEmitterMainline) as its json.Marshal(types.FlowToProto(&flow)) body
// reads: proto field names, enums as integers (WorkloadEndpoint 1,
// Allow 1, Deny 2, NetworkPolicy 6), zero values (policy_index 0)
// omitted. Written by hand from api.proto.
const goldmaneEmitterMainline = `{"Key":{"source_name":"test-src","source_namespace":"test-ns","source_type":1,"dest_name":"test-dst","dest_namespace":"test-dst-ns","dest_type":1,"proto":"tcp","action":1,"policies":{"enforced_policies":[{"kind":6,"namespace":"kube-system","name":"cluster-dns","tier":"test-tier","action":1,"rule_index":1}],"pending_policies":[{"kind":6,"namespace":"kube-system","name":"cluster-dns-staged","tier":"test-tier-staged","action":2,"rule_index":1}]}},"start_time":18,"end_time":28,"source_labels":["src=label"],"dest_labels":["dst=label"],"packets_in":10,"packets_out":20,"bytes_in":100,"bytes_out":200,"num_connections_started":1}`

func TestGoldmaneEmitterMainline(t *testing.T) {
	// The upstream flow leaves reporter unset (0, written "-"); here it
	// says dst (2).
	g, err := ParseGoldmane([]byte(strings.Replace(goldmaneEmitterMainline, `"action":1,"policies"`, `"reporter":2,"action":1,"policies"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	doc := GoldmaneFlowDoc(&g, Meta{Cluster: "c", Host: "goldmane", ID: "id", BucketStart: 18, BucketEnd: 28, Records: 1, Level: -1})
	var got map[string]any
	if err := json.Unmarshal(AppendFlowDoc(nil, &doc), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"start_time": 18.0, "end_time": 28.0, "source_name": "-", "source_name_aggr": "test-src", "source_namespace": "test-ns",
		"source_type": "wep", "dest_name_aggr": "test-dst", "dest_namespace": "test-dst-ns", "dest_type": "wep",
		"dest_port": nil, "dest_service_name": "-", "proto": "tcp", "action": "allow", "reporter": "dst",
		"bytes_in": 100.0, "bytes_out": 200.0, "packets_in": 10.0, "packets_out": 20.0,
		"num_flows": 1.0, "num_flows_started": 1.0, "num_flows_completed": 0.0, "host": "goldmane", "cluster": "c",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	pol := got["policies"].(map[string]any)
	if e := pol["enforced_policies"].([]any); len(e) != 1 || e[0] != "0|test-tier|knp:kube-system/cluster-dns|allow|1" {
		t.Errorf("enforced_policies = %v", e)
	}
	if p := pol["pending_policies"].([]any); len(p) != 1 || p[0] != "0|test-tier-staged|knp:kube-system/cluster-dns-staged|deny|1" {
		t.Errorf("pending_policies = %v", p)
	}
	dp := got["policy"].(map[string]any)
	if dp["kind"] != "knp" || dp["namespace"] != "kube-system" || dp["name"] != "kube-system/cluster-dns" || dp["tier"] != "test-tier" {
		t.Errorf("policy = %v", dp)
	}
	hits := got["goldmane_policy_hits"].(map[string]any)["enforced"].([]any)[0].(map[string]any)
	if hits["kind"] != "knp" || hits["name"] != "cluster-dns" || hits["namespace"] != "kube-system" || hits["action"] != "allow" || hits["rule_index"] != 1.0 {
		t.Errorf("policy_hits = %v", hits)
	}
	if src := got["source_labels"].(map[string]any)["labels"].([]any); len(src) != 1 || src[0] != "src=label" {
		t.Errorf("source_labels = %v", src)
	}
}

func TestGoldmanePolicyHitStrings(t *testing.T) {
	// Kinds of api.proto PolicyKind and the strings of
	// goldmane/proto/methods_test.go, by hand.
	cases := []struct {
		hit  GoldmanePolicyHit
		want string
	}{
		{GoldmanePolicyHit{Kind: 2, Name: "name", Tier: "tier", Action: 1}, "0|tier|gnp:name|allow|0"},
		{GoldmanePolicyHit{Kind: 4, Name: "name.with.dots", Tier: "tier", Action: 2, PolicyIndex: 1, RuleIndex: 2}, "1|tier|sgnp:name.with.dots|deny|2"},
		{GoldmanePolicyHit{Kind: 7, Name: "name", Tier: "kube-admin", Action: 2, RuleIndex: 1}, "0|kube-admin|kcnp:name|deny|1"},
		{GoldmanePolicyHit{Kind: 8, Name: "name", Tier: "kube-baseline", Action: 2, PolicyIndex: 1, RuleIndex: 2}, "1|kube-baseline|kcnp:name|deny|2"},
		{GoldmanePolicyHit{Kind: 1, Namespace: "namespace", Name: "name", Tier: "tier", Action: 1, RuleIndex: 1}, "0|tier|np:namespace/name|allow|1"},
		{GoldmanePolicyHit{Kind: 3, Namespace: "namespace", Name: "name", Tier: "tier", Action: 2, PolicyIndex: 1}, "1|tier|snp:namespace/name|deny|0"},
		{GoldmanePolicyHit{Kind: 5, Namespace: "namespace", Name: "name", Tier: "default", Action: 2, PolicyIndex: 1, RuleIndex: 3}, "1|default|sknp:namespace/name|deny|3"},
		{GoldmanePolicyHit{Kind: 9, Name: "kns.default", Tier: "", Action: 1, PolicyIndex: 1}, "1|__PROFILE__|pro:kns.default|allow|0"},
		{GoldmanePolicyHit{Kind: 10, Tier: "tier1", Action: 2, RuleIndex: -1,
			Trigger: &GoldmanePolicyHit{Kind: 1, Namespace: "ns1", Name: "tier1.policy1", Tier: "tier1"}}, "0|tier1|np:ns1/tier1.policy1|deny|-1"},
		{GoldmanePolicyHit{Kind: 10, Tier: "security", Action: 2, PolicyIndex: 2, RuleIndex: -1}, "2|security|eot:__NO_MATCH__|deny|-1"},
	}
	for _, tc := range cases {
		got, err := tc.hit.String()
		if err != nil || got != tc.want {
			t.Errorf("%+v: got %q %v, want %q", tc.hit, got, err, tc.want)
		}
	}
}

func TestGoldmaneUnspecifiedReporter(t *testing.T) {
	g, err := ParseGoldmane([]byte(goldmaneEmitterMainline))
	if err != nil {
		t.Fatal(err)
	}
	if d := GoldmaneFlowDoc(&g, Meta{Level: -1}); d.Reporter != "-" || d.SourceType != "wep" {
		t.Errorf("reporter %q source_type %q", d.Reporter, d.SourceType)
	}
}

func TestGoldmaneBadRecords(t *testing.T) {
	good := strings.Replace(goldmaneEmitterMainline, `"action":1,"policies"`, `"reporter":2,"action":1,"policies"`, 1)
	if _, err := ParseGoldmane([]byte(good)); err != nil {
		t.Fatalf("good record: %v", err)
	}
	cases := []struct{ name, line, want string }{
		{"unknown reporter", strings.Replace(good, `"reporter":2`, `"reporter":3`, 1), `field "Key.reporter": 3 is not a known value`},
		{"no action", strings.Replace(good, `"reporter":2,"action":1,`, `"reporter":2,`, 1), `field "Key.action": 0 is not a known value`},
		{"unknown enum number", strings.Replace(good, `"source_type":1`, `"source_type":7`, 1), `field "Key.source_type": 7 is not a known value`},
		{"unknown action", strings.Replace(good, `"reporter":2,"action":1`, `"reporter":2,"action":9`, 1), `field "Key.action"`},
		{"unknown policy kind", strings.Replace(good, `"kind":6,"namespace":"kube-system","name":"cluster-dns",`, `"kind":42,"namespace":"kube-system","name":"cluster-dns",`, 1), `enforced_policies[0]: field "kind": 42`},
		{"no key", `{"start_time":18,"end_time":28}`, `field "Key": required key is missing`},
		{"no window", strings.Replace(good, `"start_time":18,`, ``, 1), `field "start_time": window [0, 28]`},
		{"negative counter", strings.Replace(good, `"bytes_in":100`, `"bytes_in":-1`, 1), `field "bytes_in": -1 is negative`},
		{"wrong type", strings.Replace(good, `"bytes_in":100`, `"bytes_in":"100"`, 1), "not a Goldmane flow"},
		{"two values", good + ` {}`, "more than one JSON value"},
		{"pipe in a name", strings.Replace(good, `"name":"cluster-dns",`, `"name":"a|b",`, 1), "more than 5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGoldmane([]byte(tc.line))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzGoldmane(f *testing.F) {
	f.Add(strings.Replace(goldmaneEmitterMainline, `"action":1,"policies"`, `"reporter":2,"action":1,"policies"`, 1))
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGoldmane([]byte(s))
		if err != nil {
			return
		}
		doc := GoldmaneFlowDoc(&g, Meta{Cluster: "c", Host: "h", ID: "x", Level: -1})
		var back Flow
		if err := ParseFlow(AppendFlowDoc(nil, &doc), &back); err != nil {
			t.Fatalf("%q: document does not parse as a flow: %v", s, err)
		}
	})
}
