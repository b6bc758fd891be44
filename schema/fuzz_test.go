package schema

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

// addSeeds seeds f with the testdata lines of kind plus a few edge cases.
func addSeeds(f *testing.F, kind pipeline.Kind) {
	for _, s := range samples(f) {
		if s.kind == kind {
			f.Add(s.line)
		}
	}
	for _, s := range []string{"", "{}", "[]", "null", `{"a":"\ud800"}`, "{\"a\":\"\x00\"}", `{"start_time":1e3}`} {
		f.Add([]byte(s))
	}
}

// checkDoc asserts what every accepted line must satisfy: the line was
// valid JSON, and its document is valid JSON that decodes to an object.
func checkDoc(t *testing.T, line, doc []byte) {
	if !json.Valid(line) {
		t.Fatalf("accepted invalid JSON %q", line)
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("document of %q is not a JSON object: %v\n%s", line, err, doc)
	}
}

func FuzzParseFlow(f *testing.F) {
	addSeeds(f, pipeline.KindFlow)
	f.Fuzz(func(t *testing.T, line []byte) {
		var v Flow
		if err := ParseFlow(line, &v); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		d := FlowDocFromView(&v)
		checkDoc(t, line, AppendFlowDoc(nil, &d))
		c := v.Clone()
		d2 := FlowDocFromView(&c)
		if string(AppendFlowDoc(nil, &d2)) != string(AppendFlowDoc(nil, &d)) {
			t.Fatal("clone encodes differently")
		}
	})
}

func FuzzParseL7(f *testing.F) {
	addSeeds(f, pipeline.KindL7)
	f.Fuzz(func(t *testing.T, line []byte) {
		var v L7
		if err := ParseL7(line, &v); err != nil {
			return
		}
		d := L7DocFromView(&v)
		checkDoc(t, line, AppendL7Doc(nil, &d))
	})
}

func FuzzParseDNS(f *testing.F) {
	addSeeds(f, pipeline.KindDNS)
	f.Fuzz(func(t *testing.T, line []byte) {
		var v DNS
		if err := ParseDNS(line, &v); err != nil {
			return
		}
		d := DNSDocFromView(&v)
		doc := AppendDNSDoc(nil, &d)
		checkDoc(t, line, doc)
		// The written times parse back to the same instants.
		var back DNS
		if err := ParseDNS(doc, &back); err != nil {
			t.Fatalf("document does not parse back: %v\n%s", err, doc)
		}
		if back.StartTime != v.StartTime || back.EndTime != v.EndTime {
			t.Fatalf("times changed: %d,%d -> %d,%d", v.StartTime, v.EndTime, back.StartTime, back.EndTime)
		}
	})
}

func FuzzParsePolicy(f *testing.F) {
	for _, s := range samples(f) {
		var v Flow
		if s.kind == pipeline.KindFlow && ParseFlow(s.line, &v) == nil {
			for _, l := range []List{v.Policies.All, v.Policies.Enforced, v.Policies.Pending, v.Policies.Transit} {
				l.Each(func(e string) bool { f.Add(e); return true })
			}
		}
	}
	f.Add("0|t|t.p|allow")
	f.Add("0|t|t.p|allow|-2|")
	f.Add("0|tier|np:ns/tier.name|allow|1")
	f.Add("2|security|eot:__NO_MATCH__|deny|-1")
	f.Add("4|__PROFILE__|pro:kns.x|allow|-")
	f.Add("1|default|sknp:ns/x|deny|-1")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePolicy(s)
		if err != nil {
			return
		}
		if p.Index < 0 || p.Tier == "" || p.Name == "" || p.Rule < RuleUnknown || p.Kind == "" {
			t.Fatalf("accepted %q as %+v", s, p)
		}
		switch p.Kind {
		case KindStagedNetworkPolicy, KindStagedGlobalNetworkPolicy, KindStagedKubernetesNetworkPolicy:
			if !p.Staged {
				t.Fatalf("%q: staged kind %s not staged: %+v", s, p.Kind, p)
			}
		}
		if p.Namespace != "" && !strings.HasPrefix(p.Name, p.Namespace+"/") {
			t.Fatalf("%q: namespace %q is not the name's prefix: %+v", s, p.Namespace, p)
		}
		if p.EndOfTier != (p.Kind == KindEndOfTier || p.Rule == RuleEndOfTier) {
			t.Fatalf("%q: end_of_tier %v inconsistent: %+v", s, p.EndOfTier, p)
		}
		// The same entry with its rule written as a number parses the same.
		namePart := strings.Split(s, "|")[2]
		again, err := ParsePolicy(fmt.Sprintf("%d|%s|%s|%s|%d", p.Index, p.Tier, namePart, p.Action, p.Rule))
		if err != nil || again != p {
			t.Fatalf("%q: %+v does not re-parse: %+v %v", s, p, again, err)
		}
	})
}
