package auth

// Fields names the document fields that hold the two endpoints of a kind
// of document. An empty type field means the endpoint is always a pod
// (wep); an empty namespace field means the kind has no such endpoint.
type Fields struct {
	SrcType, SrcNamespace string
	DstType, DstNamespace string
}

// FlowFields are the endpoint fields of flow documents.
func FlowFields() Fields {
	return Fields{SrcType: "source_type", SrcNamespace: "source_namespace", DstType: "dest_type", DstNamespace: "dest_namespace"}
}

// L7Fields are the endpoint fields of L7 documents.
func L7Fields() Fields {
	return Fields{SrcType: "src_type", SrcNamespace: "src_namespace", DstType: "dest_type", DstNamespace: "dest_namespace"}
}

// DNSFields are the endpoint fields of DNS documents: the client, a pod.
// (The servers of a DNS log are addresses, which never grant access.)
func DNSFields() Fields { return Fields{SrcNamespace: "client_namespace"} }

type obj = map[string]any

// FilterFor returns the Elasticsearch query fragment that keeps exactly
// the documents p may see under the access rule (Access.FlowVisible): a
// bool "should" over the source and destination endpoint clauses. The API
// ANDs it into every query (a bool "filter" entry), beside the user's own
// filters, so no filter the user sends can widen it. It returns nil when
// p sees every document (no clause needed) and a match-nothing query for
// a nil principal or one that may list nothing.
func FilterFor(p *Principal, f Fields) map[string]any {
	if p == nil {
		return matchNone()
	}
	a := p.Access
	if a.SeesAllFlows() {
		return nil
	}
	var should []any
	should = append(should, endpointClauses(a, f.SrcType, f.SrcNamespace)...)
	should = append(should, endpointClauses(a, f.DstType, f.DstNamespace)...)
	if len(should) == 0 {
		return matchNone()
	}
	return obj{"bool": obj{"should": should, "minimum_should_match": 1}}
}

func matchNone() map[string]any {
	return obj{"bool": obj{"must_not": []any{obj{"match_all": obj{}}}}}
}

// endpointClauses are the ways one endpoint may be listable.
func endpointClauses(a Access, typeField, nsField string) []any {
	if nsField == "" {
		return nil
	}
	if typeField == "" {
		if c := namespaced(nsField, a.Pods); c != nil {
			return []any{c}
		}
		return nil
	}
	var out []any
	add := func(typ string, more any) {
		if more == nil {
			return
		}
		out = append(out, obj{"bool": obj{"filter": []any{obj{"term": obj{typeField: typ}}, more}}})
	}
	add(TypeWEP, namespaced(nsField, a.Pods))
	add(TypeNS, namespaced(nsField, a.NetworkSets))
	if a.GlobalNetworkSets {
		add(TypeNS, obj{"term": obj{nsField: NoNamespace}})
	}
	if a.HostEndpoints {
		out = append(out, obj{"term": obj{typeField: TypeHEP}})
	}
	return out
}

// namespaced matches a namespace in n ("-" never, as in Namespaces.Has),
// or nil when n is empty.
func namespaced(nsField string, n Namespaces) any {
	switch {
	case n.All:
		return obj{"bool": obj{"filter": []any{obj{"exists": obj{"field": nsField}}},
			"must_not": []any{obj{"term": obj{nsField: NoNamespace}}}}}
	case len(n.Names) == 0:
		return nil
	}
	return obj{"terms": obj{nsField: n.Names}}
}

// HitFields names the tier and namespace fields of policy hits: inside a
// nested query on "policy_hits", "policy_hits.tier" and
// "policy_hits.namespace" (PolicyHitFields).
type HitFields struct{ Tier, Namespace string }

// PolicyHitFields are the fields of the flow documents' nested policy_hits.
func PolicyHitFields() HitFields {
	return HitFields{Tier: "policy_hits.tier", Namespace: "policy_hits.namespace"}
}

// ReadableHits returns the query fragment that keeps only the policy hits
// whose policy p may read (PolicyReadable), for use inside a nested
// policy_hits query: AND it into a policy/tier filter so that filtering on
// a hidden policy's name finds nothing (its existence stays hidden), and
// into the Policy Board's nested aggregations (counting hidden hits under
// "*" needs the complement: wrap it in must_not). Global policies' hits
// have namespace "". It returns nil when p reads every policy.
func ReadableHits(p *Principal, f HitFields) map[string]any {
	if p == nil {
		return matchNone()
	}
	pa := p.Access.Policies
	if allPolicies(pa) {
		return nil
	}
	var nsOK []any
	switch {
	case pa.Namespaces.All:
		nsOK = append(nsOK, obj{"bool": obj{"filter": []any{obj{"exists": obj{"field": f.Namespace}}},
			"must_not": []any{obj{"term": obj{f.Namespace: ""}}}}})
	case len(pa.Namespaces.Names) > 0:
		nsOK = append(nsOK, obj{"terms": obj{f.Namespace: pa.Namespaces.Names}})
	}
	if pa.Global {
		nsOK = append(nsOK, obj{"term": obj{f.Namespace: ""}})
	}
	if len(nsOK) == 0 {
		return matchNone()
	}
	ns := obj{"bool": obj{"should": nsOK, "minimum_should_match": 1}}
	tier := obj{"term": obj{f.Tier: "__PROFILE__"}} // profiles need no tier
	if pa.Tiers.All {
		return ns
	}
	if len(pa.Tiers.Names) > 0 {
		tier = obj{"bool": obj{"should": []any{tier, obj{"terms": obj{f.Tier: pa.Tiers.Names}}}, "minimum_should_match": 1}}
	}
	return obj{"bool": obj{"filter": []any{tier, ns}}}
}
