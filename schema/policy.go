package schema

import (
	"fmt"
	"strings"
)

// RuleUnknown is Policy.Rule when the rule index is not recorded: Calico's
// -2, and the legacy 4-part form that has no rule part.
const RuleUnknown = -2

// ParsePolicy parses one policy-trace entry (spec §2.3):
// "<index>|<tier>|<name>|<action>|<rule>", or the legacy 4-part
// "<index>|<tier>|<name>|<action>" (Rule = RuleUnknown). Tier and Name
// alias s. Staged is set when the name part carries "staged:" anywhere
// ("tier.staged:x", "ns/tier.staged:x", "ns/staged:knp.default.x"). It
// allocates only on error.
func ParsePolicy(s string) (Policy, error) {
	var parts [5]string
	n := 0
	rest := s
	for {
		if n == len(parts) {
			return Policy{}, fmt.Errorf("policy %q: more than 5 '|'-separated parts; want index|tier|name|action|rule", s)
		}
		part, tail, found := strings.Cut(rest, "|")
		parts[n] = part
		n++
		if !found {
			break
		}
		rest = tail
	}
	if n < 4 {
		return Policy{}, fmt.Errorf("policy %q: %d '|'-separated parts; want index|tier|name|action|rule", s, n)
	}
	index, ok := atoi(parts[0])
	if !ok || index < 0 {
		return Policy{}, fmt.Errorf("policy %q: index %q is not a non-negative integer", s, parts[0])
	}
	pol := Policy{Index: index, Tier: parts[1], Name: parts[2], Action: parts[3], Rule: RuleUnknown}
	if pol.Tier == "" || pol.Name == "" {
		return Policy{}, fmt.Errorf("policy %q: empty tier or name", s)
	}
	switch pol.Action {
	case "allow", "deny", "pass":
	default:
		return Policy{}, fmt.Errorf("policy %q: action %q is not allow, deny or pass", s, pol.Action)
	}
	if n == 5 {
		rule, ok := atoi(parts[4])
		if !ok || rule < RuleUnknown {
			return Policy{}, fmt.Errorf("policy %q: rule %q is not an integer >= -2", s, parts[4])
		}
		pol.Rule = rule
	}
	pol.Staged = strings.Contains(pol.Name, "staged:")
	return pol, nil
}

// atoi parses a decimal int of at most 9 digits (policy indices and rule
// numbers are small) without allocating.
func atoi(s string) (int, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if s == "" || len(s) > 9 {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// decidingPolicy returns the entry of enforced (a flow's
// enforced_policies) with the highest index: the policy whose verdict
// stood. Entries that do not parse are skipped; ok is false when none
// does.
func decidingPolicy(enforced []string) (pol Policy, ok bool) {
	for _, elem := range enforced {
		if p, err := ParsePolicy(elem); err == nil && (!ok || p.Index > pol.Index) {
			pol, ok = p, true
		}
	}
	return pol, ok
}
