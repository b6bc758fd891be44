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
