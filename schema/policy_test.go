package schema

import (
	"strconv"
	"strings"
	"testing"
)

func TestParsePolicy(t *testing.T) {
	type P = Policy
	cases := []struct {
		in      string
		want    Policy
		wantErr string
	}{
		// Spec §2.7 entries (unkinded, kind derived).
		{in: "0|platform|platform.baseline-egress|pass|2",
			want: P{Index: 0, Tier: "platform", Name: "platform.baseline-egress", Action: "pass", Rule: 2, Kind: "gnp"}},
		{in: "1|default|payments/knp.default.db-ingress|deny|-1",
			want: P{Index: 1, Tier: "default", Name: "payments/knp.default.db-ingress", Action: "deny", Rule: -1, Kind: "knp", Namespace: "payments", EndOfTier: true}},
		{in: "0|__PROFILE__|__PROFILE__.kns.ci|allow|0",
			want: P{Tier: "__PROFILE__", Name: "__PROFILE__.kns.ci", Action: "allow", Rule: 0, Kind: "pro"}},
		{in: "3|default|default.x|allow|-2",
			want: P{Index: 3, Tier: "default", Name: "default.x", Action: "allow", Rule: -2, Kind: "gnp"}},
		// Legacy 4-part form: rule unknown.
		{in: "0|__PROFILE__|__PROFILE__.kns.kube-system|allow",
			want: P{Tier: "__PROFILE__", Name: "__PROFILE__.kns.kube-system", Action: "allow", Rule: RuleUnknown, Kind: "pro"}},
		// Staged in each documented unkinded position.
		{in: "0|security|security.staged:quarantine-tools|deny|0",
			want: P{Tier: "security", Name: "security.staged:quarantine-tools", Action: "deny", Staged: true, Kind: "sgnp"}},
		{in: "2|default|shop/default.staged:x|allow|1",
			want: P{Index: 2, Tier: "default", Name: "shop/default.staged:x", Action: "allow", Rule: 1, Staged: true, Kind: "snp", Namespace: "shop"}},
		{in: "1|default|shop/staged:knp.default.x|deny|-1",
			want: P{Index: 1, Tier: "default", Name: "shop/staged:knp.default.x", Action: "deny", Rule: -1, Staged: true, Kind: "sknp", Namespace: "shop", EndOfTier: true}},
		{in: "0|stagedtier|stagedtier.not-staged|allow|0",
			want: P{Tier: "stagedtier", Name: "stagedtier.not-staged", Action: "allow", Kind: "gnp"}},

		// Calico 3.32 kinded strings: the round-trip table of projectcalico/calico
		// goldmane/proto/methods_test.go (TestConversion); expectations by hand.
		{in: "0|tier|gnp:name|allow|0", want: P{Tier: "tier", Name: "name", Action: "allow", Kind: "gnp"}},
		{in: "1|tier|sgnp:name.with.dots|deny|2",
			want: P{Index: 1, Tier: "tier", Name: "name.with.dots", Action: "deny", Rule: 2, Kind: "sgnp", Staged: true}},
		{in: "0|kube-admin|kcnp:name|deny|1", want: P{Tier: "kube-admin", Name: "name", Action: "deny", Rule: 1, Kind: "kcnp"}},
		{in: "1|kube-baseline|kcnp:name|deny|2", want: P{Index: 1, Tier: "kube-baseline", Name: "name", Action: "deny", Rule: 2, Kind: "kcnp"}},
		{in: "0|tier|np:namespace/tier.name|allow|1",
			want: P{Tier: "tier", Name: "namespace/tier.name", Action: "allow", Rule: 1, Kind: "np", Namespace: "namespace"}},
		{in: "0|tier1|np:default/tier1.np1-1|pass|0",
			want: P{Tier: "tier1", Name: "default/tier1.np1-1", Action: "pass", Kind: "np", Namespace: "default"}},
		{in: "0|default|knp:namespace/name|allow|2",
			want: P{Tier: "default", Name: "namespace/name", Action: "allow", Rule: 2, Kind: "knp", Namespace: "namespace"}},
		{in: "1|tier|snp:namespace/name.with.dots|deny|0",
			want: P{Index: 1, Tier: "tier", Name: "namespace/name.with.dots", Action: "deny", Kind: "snp", Namespace: "namespace", Staged: true}},
		{in: "1|default|sknp:namespace/name|deny|3",
			want: P{Index: 1, Tier: "default", Name: "namespace/name", Action: "deny", Rule: 3, Kind: "sknp", Namespace: "namespace", Staged: true}},
		{in: "3|kube-admin|kcnp:name.with.dots|pass|4",
			want: P{Index: 3, Tier: "kube-admin", Name: "name.with.dots", Action: "pass", Rule: 4, Kind: "kcnp"}},
		{in: "1|__PROFILE__|pro:kns.default|allow|0", want: P{Index: 1, Tier: "__PROFILE__", Name: "kns.default", Action: "allow", Kind: "pro"}},
		{in: "1|__PROFILE__|pro:ksa.svcacct|allow|0", want: P{Index: 1, Tier: "__PROFILE__", Name: "ksa.svcacct", Action: "allow", Kind: "pro"}},
		// End-of-tier hits: rule -1 (same upstream table) and the eot kind.
		{in: "0|tier1|np:ns1/tier1.policy1|deny|-1",
			want: P{Tier: "tier1", Name: "ns1/tier1.policy1", Action: "deny", Rule: -1, Kind: "np", Namespace: "ns1", EndOfTier: true}},
		{in: "0|kube-admin|kcnp:policy1|allow|-1",
			want: P{Tier: "kube-admin", Name: "policy1", Action: "allow", Rule: -1, Kind: "kcnp", EndOfTier: true}},
		{in: "1|tier2|snp:default/np2-1|deny|-1",
			want: P{Index: 1, Tier: "tier2", Name: "default/np2-1", Action: "deny", Rule: -1, Kind: "snp", Namespace: "default", Staged: true, EndOfTier: true}},
		{in: "2|security|eot:__NO_MATCH__|deny|-1",
			want: P{Index: 2, Tier: "security", Name: "__NO_MATCH__", Action: "deny", Rule: -1, Kind: "eot", EndOfTier: true}},
		{in: "0|__PROFILE__|pro:__NO_MATCH__|deny|0", // Calico's enterprise flow-log FV expectation
			want: P{Tier: "__PROFILE__", Name: "__NO_MATCH__", Action: "deny", Kind: "pro"}},
		// Kinded 4-part and "-" rule (Calico Enterprise lma/pkg/api policy-hit tests).
		{in: "4|tierName|snp:namespaceName/tierName.policyName|deny",
			want: P{Index: 4, Tier: "tierName", Name: "namespaceName/tierName.policyName", Action: "deny", Rule: RuleUnknown, Kind: "snp", Namespace: "namespaceName", Staged: true}},
		{in: "4|__PROFILE__|pro:kns.namespaceName|allow|-",
			want: P{Index: 4, Tier: "__PROFILE__", Name: "kns.namespaceName", Action: "allow", Rule: RuleUnknown, Kind: "pro"}},
		{in: "4|tierName|namespaceName/tierName.staged:policyName|deny",
			want: P{Index: 4, Tier: "tierName", Name: "namespaceName/tierName.staged:policyName", Action: "deny", Rule: RuleUnknown, Kind: "snp", Namespace: "namespaceName", Staged: true}},
		{in: "5|adminnetworkpolicy|kanp:test-kanp|pass|1",
			want: P{Index: 5, Tier: "adminnetworkpolicy", Name: "test-kanp", Action: "pass", Rule: 1, Kind: "kanp"}},
		// A kind newer than this parser is kept as written.
		{in: "0|t|zz:ns/x|allow|0", want: P{Tier: "t", Name: "ns/x", Action: "allow", Kind: "zz", Namespace: "ns"}},

		// Errors (the upstream TestInvalidStrings cases this parser rejects, and ours).
		{in: "", wantErr: "1 '|'-separated parts"},
		{in: "0|t|t.p", wantErr: "3 '|'-separated parts"},
		{in: "0|t|t.p|allow|1|x", wantErr: "more than 5"},
		{in: "0|tier|gnp:tier.name|allow|0|extra", wantErr: "more than 5"},
		{in: "x|t|t.p|allow|1", wantErr: `index "x"`},
		{in: "notint|kube-baseline|kcnp:name|deny|2", wantErr: `index "notint"`},
		{in: "-1|t|t.p|allow|1", wantErr: `index "-1"`},
		{in: "0||t.p|allow|1", wantErr: "empty tier or name"},
		{in: "0||np:namespace/name|allow|1", wantErr: "empty tier or name"},
		{in: "0|t||allow|1", wantErr: "empty tier or name"},
		{in: "0|t|t.p|log|1", wantErr: `action "log"`},
		{in: "0|kube-admin|kcnp:name|badaction|1", wantErr: `action "badaction"`},
		{in: "0|t|t.p|allow|-3", wantErr: `rule "-3"`},
		{in: "0|t|t.p|allow|", wantErr: `rule ""`},
		{in: "0|t|t.p|allow|1x", wantErr: `rule "1x"`},
		{in: "1|tier|sgnp:tier.name|deny|notInt", wantErr: `rule "notInt"`},
		{in: "0|tier1|np:namespace/|pass|0", wantErr: "is not <namespace>/<name>"},
		{in: "0|tier1|knp:name|pass|0", wantErr: "is not <namespace>/<name>"},
		{in: "0|tier1|gnp:ns/name|pass|0", wantErr: "has a namespace"},
		{in: "0|tier1|gnp:|pass|0", wantErr: "empty name"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePolicy(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParsePolicyAllocs(t *testing.T) {
	for _, s := range []string{"0|tier|np:ns/tier.name|allow|1", "1|default|ns/staged:knp.default.x|deny|-1", "4|__PROFILE__|pro:kns.x|allow|-"} {
		if a := testing.AllocsPerRun(100, func() { _, _ = ParsePolicy(s) }); a != 0 {
			t.Errorf("%s: %v allocations", s, a)
		}
	}
}

func TestDecidingPolicy(t *testing.T) {
	cases := []struct {
		name     string
		enforced []string
		wantName string
		wantOK   bool
	}{
		{"highest index wins regardless of order",
			[]string{"2|b|b.last|deny|0", "0|a|a.first|pass|1", "1|c|c.mid|pass|0"}, "b.last", true},
		{"unparseable entries skipped",
			[]string{"junk", "0|a|a.first|allow|1"}, "a.first", true},
		{"legacy form", []string{"0|__PROFILE__|__PROFILE__.kns.x|allow"}, "__PROFILE__.kns.x", true},
		{"empty", nil, "", false},
		{"only junk", []string{"junk"}, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := decidingPolicy(tc.enforced)
			if ok != tc.wantOK || got.Name != tc.wantName {
				t.Errorf("got %+v %v, want name %q ok %v", got, ok, tc.wantName, tc.wantOK)
			}
		})
	}
}

// The document's "policy" is the deciding enforced entry of the spec
// lines (§2.7): for the denied line the staged deny sits only in
// all_policies, so the enforced knp deny with rule -1 (tier default) is
// the verdict.
func TestFlowDocPolicyFromSpecLines(t *testing.T) {
	cases := []struct {
		file string
		want Policy
	}{
		{"spec_allowed_level2", Policy{Index: 1, Tier: "default", Name: "shop/default.storefront-to-cart", Action: "allow", Rule: 0}},
		{"spec_denied_level1_staged", Policy{Index: 0, Tier: "default", Name: "payments/knp.default.db-ingress", Action: "deny", Rule: -1}},
		{"legacy_4part_policy", Policy{Tier: "__PROFILE__", Name: "__PROFILE__.kns.kube-system", Action: "allow", Rule: -2}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			var line []byte
			for _, s := range samples(t) {
				if s.name == tc.file {
					line = s.line
				}
			}
			doc, err := encodeLine("flows", tc.file, line)
			if err != nil {
				t.Fatal(err)
			}
			pol, ok := decodeObject(t, doc)["policy"].(map[string]any)
			if !ok {
				t.Fatalf("no policy object in %s", doc)
			}
			if pol["tier"] != tc.want.Tier || pol["name"] != tc.want.Name || pol["action"] != tc.want.Action ||
				pol["rule"].(interface{ String() string }).String() != strconv.Itoa(tc.want.Rule) ||
				pol["index"].(interface{ String() string }).String() != strconv.Itoa(tc.want.Index) || pol["staged"] != tc.want.Staged {
				t.Errorf("policy = %v, want %+v", pol, tc.want)
			}
		})
	}
	t.Run("null policies: no policy object", func(t *testing.T) {
		for _, s := range samples(t) {
			if s.name != "nulls" {
				continue
			}
			doc, err := encodeLine(s.kind, s.name, s.line)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := decodeObject(t, doc)["policy"]; ok {
				t.Errorf("policy written for null policies: %s", doc)
			}
			return
		}
		t.Fatal("sample nulls missing")
	})
}

// A Calico 3.32 line (kinded strings, an end-of-tier hit, transit_policies)
// gets the deciding entry with kind and namespace, and keeps the fourth list.
func TestFlowDocPolicyKinded(t *testing.T) {
	var line []byte
	for _, s := range samples(t) {
		if s.name == "spec_allowed_level2" {
			line = s.line
		}
	}
	if line == nil {
		t.Fatal("sample spec_allowed_level2 missing")
	}
	kinded := `"policies":{"all_policies":["0|platform|gnp:platform.baseline-egress|pass|2","1|default|snp:shop/default.canary|deny|0","2|default|np:shop/default.storefront-to-cart|allow|0"],` +
		`"enforced_policies":["0|platform|gnp:platform.baseline-egress|pass|2","1|default|np:shop/default.storefront-to-cart|allow|0"],` +
		`"pending_policies":["0|platform|gnp:platform.baseline-egress|pass|2","1|default|snp:shop/default.canary|deny|0"],` +
		`"transit_policies":["0|security|eot:__NO_MATCH__|deny|-1"]}`
	s := string(line)
	i := strings.Index(s, `"policies":{`)
	j := strings.Index(s[i:], `]},`) + i + 2
	line = []byte(s[:i] + kinded + s[j:])
	doc, err := encodeLine("flows", "kinded", line)
	if err != nil {
		t.Fatal(err)
	}
	obj := decodeObject(t, doc)
	pol, ok := obj["policy"].(map[string]any)
	if !ok {
		t.Fatalf("no policy object in %s", doc)
	}
	want := map[string]string{"tier": "default", "name": "shop/default.storefront-to-cart", "action": "allow", "kind": "np", "namespace": "shop"}
	for k, v := range want {
		if pol[k] != v {
			t.Errorf("policy.%s = %v, want %q", k, pol[k], v)
		}
	}
	if pol["staged"] != false || pol["end_of_tier"] != false || pol["index"].(interface{ String() string }).String() != "1" {
		t.Errorf("policy = %v", pol)
	}
	transit := obj["policies"].(map[string]any)["transit_policies"].([]any)
	if len(transit) != 1 || transit[0] != "0|security|eot:__NO_MATCH__|deny|-1" {
		t.Errorf("transit_policies = %v", transit)
	}
}

func TestDecidingPolicyMixedGenerations(t *testing.T) {
	got, ok := decidingPolicy([]string{"0|platform|platform.baseline-egress|pass|2", "1|security|eot:__NO_MATCH__|deny|-1"})
	if !ok || got.Kind != "eot" || !got.EndOfTier || got.Tier != "security" || got.Action != "deny" {
		t.Errorf("got %+v %v", got, ok)
	}
}
