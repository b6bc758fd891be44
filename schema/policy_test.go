package schema

import (
	"strconv"
	"strings"
	"testing"
)

func TestParsePolicy(t *testing.T) {
	cases := []struct {
		in      string
		want    Policy
		wantErr string
	}{
		// Spec §2.7 entries.
		{in: "0|platform|platform.baseline-egress|pass|2",
			want: Policy{Index: 0, Tier: "platform", Name: "platform.baseline-egress", Action: "pass", Rule: 2}},
		{in: "1|default|payments/knp.default.db-ingress|deny|-1",
			want: Policy{Index: 1, Tier: "default", Name: "payments/knp.default.db-ingress", Action: "deny", Rule: -1}},
		{in: "0|__PROFILE__|__PROFILE__.kns.ci|allow|0",
			want: Policy{Tier: "__PROFILE__", Name: "__PROFILE__.kns.ci", Action: "allow", Rule: 0}},
		{in: "3|default|default.x|allow|-2",
			want: Policy{Index: 3, Tier: "default", Name: "default.x", Action: "allow", Rule: -2}},
		// Legacy 4-part form: rule unknown.
		{in: "0|__PROFILE__|__PROFILE__.kns.kube-system|allow",
			want: Policy{Tier: "__PROFILE__", Name: "__PROFILE__.kns.kube-system", Action: "allow", Rule: RuleUnknown}},
		// Staged in each documented position.
		{in: "0|security|security.staged:quarantine-tools|deny|0",
			want: Policy{Tier: "security", Name: "security.staged:quarantine-tools", Action: "deny", Staged: true}},
		{in: "2|default|shop/default.staged:x|allow|1",
			want: Policy{Index: 2, Tier: "default", Name: "shop/default.staged:x", Action: "allow", Rule: 1, Staged: true}},
		{in: "1|default|shop/staged:knp.default.x|deny|-1",
			want: Policy{Index: 1, Tier: "default", Name: "shop/staged:knp.default.x", Action: "deny", Rule: -1, Staged: true}},
		{in: "0|stagedtier|stagedtier.not-staged|allow|0",
			want: Policy{Tier: "stagedtier", Name: "stagedtier.not-staged", Action: "allow"}},
		// Errors.
		{in: "", wantErr: "1 '|'-separated parts"},
		{in: "0|t|t.p", wantErr: "3 '|'-separated parts"},
		{in: "0|t|t.p|allow|1|x", wantErr: "more than 5"},
		{in: "x|t|t.p|allow|1", wantErr: `index "x"`},
		{in: "-1|t|t.p|allow|1", wantErr: `index "-1"`},
		{in: "0||t.p|allow|1", wantErr: "empty tier or name"},
		{in: "0|t||allow|1", wantErr: "empty tier or name"},
		{in: "0|t|t.p|log|1", wantErr: `action "log"`},
		{in: "0|t|t.p|allow|-3", wantErr: `rule "-3"`},
		{in: "0|t|t.p|allow|", wantErr: `rule ""`},
		{in: "0|t|t.p|allow|1x", wantErr: `rule "1x"`},
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
