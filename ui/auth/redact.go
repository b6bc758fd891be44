package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Hidden is what a policy field the person may not read shows instead.
const Hidden = "*"

// PolicyReadable reports whether p may read the name of a policy of the
// given tier, kind and namespace ("" for global policies). Namespace
// profiles (tier __PROFILE__, "__PROFILE__.kns.<ns>") follow the
// namespace rule, other profiles the global rule.
func PolicyReadable(p *Principal, tier, namespace string) bool {
	if p == nil {
		return false
	}
	pa := p.Access.Policies
	if tier != "__PROFILE__" && !pa.Tiers.Has(tier) {
		return false
	}
	if namespace == "" || namespace == NoNamespace {
		return pa.Global
	}
	return pa.Namespaces.Has(namespace)
}

// policyNamespace is the namespace of a policy from its name's shape
// (spec §2.3): "<ns>/<tier>.<name>", "<ns>/knp.default.<name>",
// "__PROFILE__.kns.<ns>"; "" for global policies.
func policyNamespace(tier, name string) string {
	if tier == "__PROFILE__" {
		ns, ok := strings.CutPrefix(name, "__PROFILE__.kns.")
		if !ok {
			return ""
		}
		return ns
	}
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return ""
}

// RedactPolicy returns the Calico policy string s
// ("idx|tier|name|action|rule", or the older 4-part form without the rule)
// as p may see it: unchanged when p may read the policy, else
// "idx|*|*|action|*" (4-part: "idx|*|*|action"), so the position and the
// verdict stay and the tier, name and rule go. A string that does not
// parse becomes "*" unless p reads every policy.
func RedactPolicy(p *Principal, s string) string {
	parts := strings.Split(s, "|")
	if len(parts) != 4 && len(parts) != 5 {
		if p != nil && allPolicies(p.Access.Policies) {
			return s
		}
		return Hidden
	}
	if PolicyReadable(p, parts[1], policyNamespace(parts[1], parts[2])) {
		return s
	}
	out := parts[0] + "|*|*|" + parts[3]
	if len(parts) == 5 {
		out += "|*"
	}
	return out
}

func allPolicies(pa PolicyAccess) bool { return pa.Global && pa.Namespaces.All && pa.Tiers.All }

// Hit is one element of a flow document's nested "policy_hits" list. Rule
// is a JSON number in the documents and "*" once hidden, hence RawMessage.
type Hit struct {
	List      string          `json:"list"`
	Index     json.RawMessage `json:"index"`
	Tier      string          `json:"tier"`
	Kind      string          `json:"kind"`
	Namespace string          `json:"namespace"`
	Name      string          `json:"name"`
	Action    string          `json:"action"`
	Rule      json.RawMessage `json:"rule"`
}

// RedactHit returns h as p may see it: when p may not read the policy,
// tier, kind, namespace, name and rule become "*"; list, index and action
// stay (the structured form of idx|*|*|action|*).
func RedactHit(p *Principal, h Hit) Hit {
	if PolicyReadable(p, h.Tier, h.Namespace) {
		return h
	}
	h.Tier, h.Kind, h.Name = Hidden, Hidden, Hidden
	if h.Namespace != "" {
		h.Namespace = Hidden
	}
	h.Rule = json.RawMessage(`"*"`)
	return h
}

// RedactSource returns a flow document (its _source JSON) with every
// policy string, policy hit and deciding "policy" entry p may not read
// hidden; the other fields
// pass through as they are. For the flow log table and export. A person
// who reads every policy gets src back unchanged.
func RedactSource(p *Principal, src []byte) ([]byte, error) {
	if p != nil && allPolicies(p.Access.Policies) {
		return src, nil
	}
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("auth: redacting a flow document: %w", err)
	}
	if raw, ok := doc["policies"]; ok && !isNull(raw) {
		var pols map[string]json.RawMessage
		if err := json.Unmarshal(raw, &pols); err != nil {
			return nil, fmt.Errorf("auth: redacting policies: %w", err)
		}
		for _, k := range [...]string{"all_policies", "enforced_policies", "pending_policies", "transit_policies"} {
			list, ok := pols[k]
			if !ok || isNull(list) {
				continue
			}
			var ss []string
			if err := json.Unmarshal(list, &ss); err != nil {
				return nil, fmt.Errorf("auth: redacting policies.%s: %w", k, err)
			}
			for i := range ss {
				ss[i] = RedactPolicy(p, ss[i])
			}
			pols[k], _ = json.Marshal(ss)
		}
		doc["policies"], _ = json.Marshal(pols)
	}
	if raw, ok := doc["policy"]; ok && !isNull(raw) {
		// The deciding enforced entry (schema.FlowDoc): {"tier","name","action","rule","index","staged"}.
		var pol map[string]json.RawMessage
		if err := json.Unmarshal(raw, &pol); err != nil {
			return nil, fmt.Errorf("auth: redacting policy: %w", err)
		}
		var tier, name string
		_ = json.Unmarshal(pol["tier"], &tier)
		_ = json.Unmarshal(pol["name"], &name)
		if !PolicyReadable(p, tier, policyNamespace(tier, name)) {
			pol["tier"], pol["name"], pol["rule"] = json.RawMessage(`"*"`), json.RawMessage(`"*"`), json.RawMessage(`"*"`)
			doc["policy"], _ = json.Marshal(pol)
		}
	}
	if raw, ok := doc["policy_hits"]; ok && !isNull(raw) {
		var hits []Hit
		if err := json.Unmarshal(raw, &hits); err != nil {
			return nil, fmt.Errorf("auth: redacting policy_hits: %w", err)
		}
		for i := range hits {
			hits[i] = RedactHit(p, hits[i])
		}
		doc["policy_hits"], _ = json.Marshal(hits)
	}
	return json.Marshal(doc)
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// RedactPolicyCounts maps counts keyed by Calico policy strings (a terms
// aggregation over a policies list) to what p may see: keys p may not
// read become idx|*|*|action|* and their counts add up there, so totals
// stay true while hidden names never leave the API.
func RedactPolicyCounts(p *Principal, counts map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(counts))
	for k, n := range counts {
		out[RedactPolicy(p, k)] += n
	}
	return out
}
