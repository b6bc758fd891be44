package schema

import (
	"fmt"
	"strings"
)

// RuleUnknown is Policy.Rule when the rule index is not recorded: Calico's
// -2, the "-" some Calico versions write, and the legacy 4-part form that
// has no rule part.
const RuleUnknown = -2

// RuleEndOfTier is Policy.Rule for an end-of-tier hit: no rule of the
// tier's policies matched and the tier's default action applied.
const RuleEndOfTier = -1

// Policy kinds as Calico 3.32 writes them in front of the name part
// ("<kind>:[<namespace>/]<name>"). ParsePolicy derives the same codes from
// the older unkinded names.
const (
	KindNetworkPolicy                 = "np"   // Calico NetworkPolicy (namespaced)
	KindGlobalNetworkPolicy           = "gnp"  // Calico GlobalNetworkPolicy
	KindStagedNetworkPolicy           = "snp"  // Calico StagedNetworkPolicy (namespaced)
	KindStagedGlobalNetworkPolicy     = "sgnp" // Calico StagedGlobalNetworkPolicy
	KindStagedKubernetesNetworkPolicy = "sknp" // StagedKubernetesNetworkPolicy (namespaced)
	KindKubernetesNetworkPolicy       = "knp"  // Kubernetes NetworkPolicy (namespaced)
	KindClusterNetworkPolicy          = "kcnp" // Kubernetes ClusterNetworkPolicy
	KindProfile                       = "pro"  // profile (namespace or service account)
	KindEndOfTier                     = "eot"  // end-of-tier hit ("eot:__NO_MATCH__")
	KindAdminNetworkPolicy            = "kanp" // Kubernetes AdminNetworkPolicy (older name form)
	KindBaselineAdminNetworkPolicy    = "kbanp"
)

// ParsePolicy parses one policy-trace entry (spec §2.3) of any Calico
// generation:
//
//	<index>|<tier>|<name>|<action>                    (legacy, Rule = RuleUnknown)
//	<index>|<tier>|<name>|<action>|<rule>
//	<index>|<tier>|<kind>:[<namespace>/]<name>|<action>|<rule>   (Calico 3.32)
//
// <rule> is an integer >= -2 or "-" (unknown). For the kinded form Kind is
// the written kind and Name the name part without "<kind>:"; for the older
// forms Name is the name part as written and Kind is derived from it the way
// Calico reads its own legacy names ("ns/knp.default.x" is knp,
// "tier.staged:x" sgnp, "__PROFILE__.kns.x" pro, "ns/tier.x" np, "tier.x"
// gnp). Namespace is the part before the first '/' of a namespaced name.
// Staged is set for the staged kinds and for names carrying "staged:"
// ("tier.staged:x", "ns/tier.staged:x", "ns/staged:knp.default.x").
// EndOfTier is set for the eot kind and for rule -1. A kind prefix Calico
// does not define yet (lower-case letters) is kept as written. Strings
// alias s; it allocates only on error.
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
	if n == 5 && parts[4] != "-" {
		rule, ok := atoi(parts[4])
		if !ok || rule < RuleUnknown {
			return Policy{}, fmt.Errorf("policy %q: rule %q is not an integer >= -2 or \"-\"", s, parts[4])
		}
		pol.Rule = rule
	}
	if kind, name, ok := kindPrefix(pol.Name); ok {
		pol.Kind, pol.Name = kind, name
		if err := pol.splitKinded(); err != nil {
			return Policy{}, fmt.Errorf("policy %q: %w", s, err)
		}
	} else {
		pol.deriveLegacy()
	}
	pol.Staged = pol.Staged || strings.Contains(pol.Name, "staged:")
	pol.EndOfTier = pol.Kind == KindEndOfTier || pol.Rule == RuleEndOfTier
	return pol, nil
}

// kindPrefix splits "<kind>:<rest>" when kind is 1-8 lower-case letters
// and not "staged" (the older staged marker, "staged:knp.default.x").
func kindPrefix(name string) (kind, rest string, ok bool) {
	i := strings.IndexByte(name, ':')
	if i < 1 || i > 8 {
		return "", "", false
	}
	for j := 0; j < i; j++ {
		if name[j] < 'a' || name[j] > 'z' {
			return "", "", false
		}
	}
	if name[:i] == "staged" {
		return "", "", false
	}
	return name[:i], name[i+1:], true
}

// splitKinded checks the name part of a kinded entry and sets Namespace
// and Staged from the kind.
func (p *Policy) splitKinded() error {
	if p.Name == "" {
		return fmt.Errorf("kind %s: empty name", p.Kind)
	}
	ns, local, namespaced := strings.Cut(p.Name, "/")
	switch p.Kind {
	case KindNetworkPolicy, KindStagedNetworkPolicy, KindKubernetesNetworkPolicy, KindStagedKubernetesNetworkPolicy:
		if !namespaced || ns == "" || local == "" {
			return fmt.Errorf("kind %s: name %q is not <namespace>/<name>", p.Kind, p.Name)
		}
		p.Namespace = ns
	case KindGlobalNetworkPolicy, KindStagedGlobalNetworkPolicy, KindClusterNetworkPolicy, KindProfile:
		if namespaced {
			return fmt.Errorf("kind %s: cluster-wide name %q has a namespace", p.Kind, p.Name)
		}
	default: // eot and kinds newer than this parser: a namespace when written
		if namespaced && ns != "" && local != "" {
			p.Namespace = ns
		}
	}
	switch p.Kind {
	case KindStagedNetworkPolicy, KindStagedGlobalNetworkPolicy, KindStagedKubernetesNetworkPolicy:
		p.Staged = true
	}
	return nil
}

// deriveLegacy sets Kind and Namespace from an unkinded name part.
func (p *Policy) deriveLegacy() {
	name := p.Name
	if p.Tier == "__PROFILE__" || strings.HasPrefix(name, "__PROFILE__.") {
		p.Kind = KindProfile
		return
	}
	ns, local, namespaced := strings.Cut(name, "/")
	if namespaced && ns != "" {
		p.Namespace = ns
		switch {
		case strings.HasPrefix(local, "staged:knp."):
			p.Kind = KindStagedKubernetesNetworkPolicy
		case strings.HasPrefix(local, "knp."):
			p.Kind = KindKubernetesNetworkPolicy
		case strings.Contains(local, "staged:"):
			p.Kind = KindStagedNetworkPolicy
		default:
			p.Kind = KindNetworkPolicy
		}
		return
	}
	switch {
	case strings.Contains(name, "staged:"):
		p.Kind = KindStagedGlobalNetworkPolicy
	case strings.HasPrefix(name, "kanp."):
		p.Kind = KindAdminNetworkPolicy
	case strings.HasPrefix(name, "kbanp."):
		p.Kind = KindBaselineAdminNetworkPolicy
	default:
		p.Kind = KindGlobalNetworkPolicy
	}
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
