package schema

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Policy-hit lists: which trace of a flow's "policies" object a hit
// comes from.
const (
	HitsEnforced = "enforced" // policies.enforced_policies
	HitsPending  = "pending"  // policies.pending_policies (staged policies as if enforced)
	HitsTransit  = "transit"  // policies.transit_policies
)

// PolicyHit is one element of a flow document's "policy_hits": one parsed
// entry of one of its policy traces, so that Elasticsearch can aggregate
// per tier, policy, rule and action (a nested field; see the flows
// mapping). The Calico "policies" strings stay as they are beside it.
type PolicyHit struct {
	List      string // HitsEnforced, HitsPending or HitsTransit
	Policy    Policy
	Kind      string // Policy.Kind: np, gnp, snp, … (see ParsePolicy)
	Namespace string // the policy's namespace; "" for global policies
}

// hitNamespace is the namespace a hit belongs to: the policy's own, and for
// a namespace's profile ("__PROFILE__.kns.<ns>") that namespace, so that
// access to the namespace covers its profile.
func hitNamespace(p Policy) string {
	if p.Kind == KindProfile {
		if ns, ok := strings.CutPrefix(p.Name, "__PROFILE__.kns."); ok {
			return ns
		}
	}
	return p.Namespace
}

// PolicyHits returns the hits of a flow document's "policies" object (the
// JSON document as indexed), enforced first, then pending, then transit,
// each in trace order as written. Entries that ParsePolicy rejects are
// left out (the Calico strings keep them); bad reports how many.
func PolicyHits(doc []byte) (hits []PolicyHit, bad int) {
	pols := gjson.GetBytes(doc, "policies")
	if !pols.IsObject() {
		return nil, 0
	}
	for _, l := range [...]struct{ key, list string }{
		{"enforced_policies", HitsEnforced}, {"pending_policies", HitsPending}, {"transit_policies", HitsTransit},
	} {
		pols.Get(l.key).ForEach(func(_, v gjson.Result) bool {
			p, err := ParsePolicy(v.String())
			if err != nil || v.Type != gjson.String {
				bad++
				return true
			}
			hits = append(hits, PolicyHit{List: l.list, Policy: p, Kind: p.Kind, Namespace: hitNamespace(p)})
			return true
		})
	}
	return hits, bad
}

// AppendWithPolicyHits appends the flow document doc (one JSON object) to
// dst with a "policy_hits" array added before its closing brace: one
// object {list, index, tier, kind, namespace, name, action, rule} per
// parsed trace entry. doc is appended unchanged when it has no policy
// entries, already has "policy_hits", or does not end in '}'.
func AppendWithPolicyHits(dst, doc []byte) []byte {
	body := bytes.TrimRight(doc, " \t\r\n")
	if len(body) < 2 || body[len(body)-1] != '}' || gjson.GetBytes(doc, "policy_hits").Exists() {
		return append(dst, doc...)
	}
	hits, _ := PolicyHits(doc)
	if len(hits) == 0 {
		return append(dst, doc...)
	}
	dst = append(dst, body[:len(body)-1]...)
	dst = append(dst, `,"policy_hits":[`...)
	for i := range hits {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendPolicyHit(dst, &hits[i])
	}
	return append(dst, "]}"...)
}

func appendPolicyHit(dst []byte, h *PolicyHit) []byte {
	dst = append(dst, `{"list":`...)
	dst = AppendJSONString(dst, h.List)
	dst = append(dst, `,"index":`...)
	dst = strconv.AppendInt(dst, int64(h.Policy.Index), 10)
	dst = append(dst, `,"tier":`...)
	dst = AppendJSONString(dst, h.Policy.Tier)
	dst = append(dst, `,"kind":`...)
	dst = AppendJSONString(dst, h.Kind)
	dst = append(dst, `,"namespace":`...)
	dst = AppendJSONString(dst, h.Namespace)
	dst = append(dst, `,"name":`...)
	dst = AppendJSONString(dst, h.Policy.Name)
	dst = append(dst, `,"action":`...)
	dst = AppendJSONString(dst, h.Policy.Action)
	dst = append(dst, `,"rule":`...)
	dst = strconv.AppendInt(dst, int64(h.Policy.Rule), 10)
	return append(dst, '}')
}
