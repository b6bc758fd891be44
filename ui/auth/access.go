package auth

import (
	"slices"
	"sort"
)

// Endpoint types of the flow documents (spec §2.2).
const (
	TypeWEP = "wep" // workload endpoint: a pod
	TypeHEP = "hep" // host endpoint
	TypeNS  = "ns"  // network set (namespaced) or global network set (namespace "-")
	TypeNet = "net" // any other network: never grants access
)

// NoNamespace is the namespace field of non-namespaced endpoints (host
// endpoints, global network sets, "net").
const NoNamespace = "-"

// Namespaces is a set of namespaces, or every namespace (All). The zero
// value is the empty set.
type Namespaces struct {
	All bool `json:"all,omitempty"`
	// Names is sorted and free of duplicates when All is false.
	Names []string `json:"names,omitempty"`
}

// AllNamespaces is the set of every namespace.
func AllNamespaces() Namespaces { return Namespaces{All: true} }

// SomeNamespaces is the set of the given names (sorted, deduplicated).
func SomeNamespaces(names ...string) Namespaces {
	n := slices.Clone(names)
	sort.Strings(n)
	return Namespaces{Names: slices.Compact(n)}
}

// Has reports whether ns is in the set. NoNamespace and "" are never in a
// set of names (only All covers them).
func (n Namespaces) Has(ns string) bool {
	if n.All {
		return true
	}
	if ns == "" || ns == NoNamespace {
		return false
	}
	_, ok := slices.BinarySearch(n.Names, ns)
	return ok
}

// Empty reports whether the set has no namespace at all.
func (n Namespaces) Empty() bool { return !n.All && len(n.Names) == 0 }

// Union returns the union of n and o.
func (n Namespaces) Union(o Namespaces) Namespaces {
	if n.All || o.All {
		return AllNamespaces()
	}
	return SomeNamespaces(append(slices.Clone(n.Names), o.Names...)...)
}

// Access is what one person may see: per endpoint type, which endpoints
// they may list, and which policies' names they may read. It mirrors the
// Kubernetes permissions Calico Enterprise checks (list pods, networksets,
// globalnetworksets, hostendpoints; get networkpolicies, globalnetwork-
// policies, tiers). The zero value sees nothing.
type Access struct {
	// Pods: namespaces whose pods the person may list (wep endpoints).
	Pods Namespaces `json:"pods"`
	// NetworkSets: namespaces whose network sets they may list (ns
	// endpoints with a namespace).
	NetworkSets Namespaces `json:"network_sets"`
	// GlobalNetworkSets: they may list global network sets (ns endpoints
	// with namespace "-").
	GlobalNetworkSets bool `json:"global_network_sets"`
	// HostEndpoints: they may list host endpoints (hep endpoints).
	HostEndpoints bool `json:"host_endpoints"`
	// Policies: which policy names they may read.
	Policies PolicyAccess `json:"policies"`
}

// PolicyAccess says whose policy names a person may read. A policy hit
// they may not read is shown as idx|*|*|action|* (see RedactPolicy).
type PolicyAccess struct {
	// Namespaces whose NetworkPolicies (Calico and Kubernetes, staged
	// too) they may get; namespace profiles follow the same rule.
	Namespaces Namespaces `json:"namespaces"`
	// Global: they may get GlobalNetworkPolicies (and staged ones).
	Global bool `json:"global"`
	// Tiers they may get; a policy is readable only when its tier is too.
	// Kubernetes NetworkPolicies are in tier "default".
	Tiers Namespaces `json:"tiers"`
}

// FullAccess sees every flow and every policy name.
func FullAccess() Access {
	return Access{
		Pods: AllNamespaces(), NetworkSets: AllNamespaces(), GlobalNetworkSets: true, HostEndpoints: true,
		Policies: PolicyAccess{Namespaces: AllNamespaces(), Global: true, Tiers: AllNamespaces()},
	}
}

// NamespaceAccess sees the pods, network sets and the namespaced
// policies of ns in every tier, and nothing global: the access an
// elasticsearch-mode ui.rbac namespace list grants.
func NamespaceAccess(ns Namespaces) Access {
	if ns.All {
		return FullAccess()
	}
	return Access{Pods: ns, NetworkSets: ns, Policies: PolicyAccess{Namespaces: ns, Tiers: AllNamespaces()}}
}

// Union is the access of someone who holds both a and b.
func (a Access) Union(b Access) Access {
	return Access{
		Pods:              a.Pods.Union(b.Pods),
		NetworkSets:       a.NetworkSets.Union(b.NetworkSets),
		GlobalNetworkSets: a.GlobalNetworkSets || b.GlobalNetworkSets,
		HostEndpoints:     a.HostEndpoints || b.HostEndpoints,
		Policies: PolicyAccess{
			Namespaces: a.Policies.Namespaces.Union(b.Policies.Namespaces),
			Global:     a.Policies.Global || b.Policies.Global,
			Tiers:      a.Policies.Tiers.Union(b.Policies.Tiers),
		},
	}
}

// SeesAllFlows reports whether no flow filter is needed: every endpoint
// of every type except net is listable.
func (a Access) SeesAllFlows() bool {
	return a.Pods.All && a.NetworkSets.All && a.GlobalNetworkSets && a.HostEndpoints
}

// Endpoint is one side of a flow as the documents record it.
type Endpoint struct {
	Type      string // wep, hep, ns, net
	Namespace string // namespace, or "-"
}

// CanList reports whether the person may list endpoint e: the pods of its
// namespace (wep), its network set (ns: namespaced or global), host
// endpoints (hep). A net endpoint, an unknown type or a missing
// namespace never grants access.
func (a Access) CanList(e Endpoint) bool {
	switch e.Type {
	case TypeWEP:
		return e.Namespace != NoNamespace && a.Pods.Has(e.Namespace)
	case TypeNS:
		if e.Namespace == NoNamespace {
			return a.GlobalNetworkSets
		}
		return a.NetworkSets.Has(e.Namespace)
	case TypeHEP:
		return a.HostEndpoints
	}
	return false
}

// FlowVisible is the access rule: a flow is visible when at least one of
// its two endpoints is something the person may list.
func (a Access) FlowVisible(src, dst Endpoint) bool { return a.CanList(src) || a.CanList(dst) }
