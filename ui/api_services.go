package ui

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/tidwall/gjson"

	"github.com/flowship/flowship/pipeline"
)

// Node is a Service Graph node: a workload group (name_aggr) or a
// service, grouped by namespace.
type Node struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"` // workload | service | net | netset | hep
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Edge is the traffic from one node to another with one action.
type Edge struct {
	Src    string `json:"src"`
	Dst    string `json:"dst"`
	Action string `json:"action"`
	Counts
}

func nodeOf(typ, ns, name string) Node {
	kind := map[string]string{"wep": "workload", "net": "net", "ns": "netset", "hep": "hep"}[typ]
	if kind == "" {
		kind = "workload"
	}
	return Node{ID: kind + ":" + ns + "/" + name, Kind: kind, Namespace: ns, Name: name}
}

// handleServiceGraph answers the Service Graph: source workloads to the
// destination's service when it has one (else its workload group).
func (s *Server) handleServiceGraph(_ http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.scope(r, pipeline.KindFlow)
	if err != nil {
		return nil, err
	}
	sources := []source{
		{"st", "source_type"}, {"sn", "source_namespace"}, {"sa", "source_name_aggr"},
		{"dt", "dest_type"}, {"dn", "dest_namespace"}, {"da", "dest_name_aggr"},
		{"vn", "dest_service_namespace"}, {"vs", "dest_service_name"}, {"a", "action"},
	}
	nodes := map[string]Node{}
	edges := map[[3]string]*Edge{}
	order := [][3]string{}
	truncated, err := s.composite(r.Context(), s.alias(pipeline.KindFlow), boolFilter(q.Clauses), sources, countAggs, s.cfg.MaxArcs, func(b gjson.Result) {
		src := nodeOf(key(b, "st"), key(b, "sn"), key(b, "sa"))
		dst := nodeOf(key(b, "dt"), key(b, "dn"), key(b, "da"))
		if svc := key(b, "vs"); svc != "" && svc != "-" {
			dst = Node{ID: "service:" + key(b, "vn") + "/" + svc, Kind: "service", Namespace: key(b, "vn"), Name: svc}
		}
		nodes[src.ID], nodes[dst.ID] = src, dst
		k := [3]string{src.ID, dst.ID, key(b, "a")}
		e := edges[k]
		if e == nil {
			e = &Edge{Src: src.ID, Dst: dst.ID, Action: k[2]}
			edges[k] = e
			order = append(order, k)
		}
		e.add(counts(b))
	})
	if err != nil {
		return nil, err
	}
	outNodes := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		outNodes = append(outNodes, n)
	}
	sortNodes(outNodes)
	outEdges := make([]Edge, 0, len(order))
	for _, k := range order {
		outEdges = append(outEdges, *edges[k])
	}
	return obj{"from": q.Filter.From, "to": q.Filter.To, "ignored": nonNil(q.Ignored), "truncated": truncated, "nodes": outNodes, "edges": outEdges}, nil
}

// selection reads the node or edge the HTTP and DNS tabs are about:
// sel_src_ns/sel_src_name (a caller) and sel_dst_ns/sel_dst_name (a
// callee, a service name or a workload group), each optional.
var selectionKeys = []string{"sel_src_ns", "sel_src_name", "sel_dst_ns", "sel_dst_name", "sel_dst_kind", "size"}

// L7Call is one row of the HTTP tab.
type L7Call struct {
	Method         string  `json:"method"`
	URL            string  `json:"url"`
	Code           string  `json:"code"`
	Service        string  `json:"service"`
	Count          int64   `json:"count"`
	MeanDurationMs float64 `json:"mean_duration_ms"`
	MaxDurationMs  float64 `json:"max_duration_ms"`
	BytesIn        int64   `json:"bytes_in"`
	BytesOut       int64   `json:"bytes_out"`
}

// handleHTTP answers the HTTP tab: L7 calls per method, URL, response code
// and service, with counts, mean (weighted by count) and max durations
// and bytes.
func (s *Server) handleHTTP(_ http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.scope(r, pipeline.KindL7, selectionKeys...)
	if err != nil {
		return nil, err
	}
	clauses, err := selectionClauses(r, "src_namespace", "src_name_aggr", "dest_namespace", "dest_name_aggr", "dest_service_namespace", "dest_service_name")
	if err != nil {
		return nil, err
	}
	sources := []source{{"m", "method"}, {"u", "url"}, {"c", "response_code"}, {"s", "dest_service_name"}}
	aggs := obj{
		"count": obj{"sum": obj{"field": "count"}},
		"mean":  obj{"weighted_avg": obj{"value": obj{"field": "duration_mean"}, "weight": obj{"field": "count"}}},
		"max":   obj{"max": obj{"field": "duration_max"}},
		"bi":    obj{"sum": obj{"field": "bytes_in"}}, "bo": obj{"sum": obj{"field": "bytes_out"}},
	}
	calls := []L7Call{}
	truncated, err := s.composite(r.Context(), s.alias(pipeline.KindL7), boolFilter(q.Clauses, clauses...), sources, aggs, s.cfg.MaxArcs, func(b gjson.Result) {
		calls = append(calls, L7Call{
			Method: key(b, "m"), URL: key(b, "u"), Code: key(b, "c"), Service: key(b, "s"),
			Count:          sum(b, "count"),
			MeanDurationMs: b.Get("mean.value").Float() / 1e6, MaxDurationMs: b.Get("max.value").Float() / 1e6,
			BytesIn: sum(b, "bi"), BytesOut: sum(b, "bo"),
		})
	})
	if err != nil {
		return nil, err
	}
	return obj{"from": q.Filter.From, "to": q.Filter.To, "ignored": nonNil(q.Ignored), "truncated": truncated, "calls": calls}, nil
}

// selectionClauses turns the sel_* keys into term clauses on the given
// fields; a destination of kind "service" matches the service fields.
func selectionClauses(r *http.Request, srcNS, srcName, dstNS, dstName, svcNS, svcName string) ([]any, error) {
	uq := r.URL.Query()
	var out []any
	dNS, dName := dstNS, dstName
	if uq.Get("sel_dst_kind") == "service" {
		dNS, dName = svcNS, svcName
	}
	for _, x := range []struct{ key, field string }{
		{"sel_src_ns", srcNS}, {"sel_src_name", srcName}, {"sel_dst_ns", dNS}, {"sel_dst_name", dName},
	} {
		v := uq.Get(x.key)
		if v == "" {
			continue
		}
		if err := checkValue(x.key, v); err != nil {
			return nil, err
		}
		if x.field == "" {
			return nil, badf("%s does not apply here", x.key)
		}
		out = append(out, obj{"term": obj{x.field: v}})
	}
	return out, nil
}

// DNSLookup is one row of the DNS tab.
type DNSLookup struct {
	QName         string  `json:"qname"`
	QType         string  `json:"qtype"`
	RCode         string  `json:"rcode"`
	Count         int64   `json:"count"`
	MeanLatencyMs float64 `json:"mean_latency_ms"`
	MaxLatencyMs  float64 `json:"max_latency_ms"`
}

// handleDNS answers the DNS tab: the lookups of the selected workload
// (sel_src_ns/sel_src_name are the client) per name, type and response
// code.
func (s *Server) handleDNS(_ http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.scope(r, pipeline.KindDNS, selectionKeys...)
	if err != nil {
		return nil, err
	}
	clauses, err := selectionClauses(r, "client_namespace", "client_name_aggr", "", "", "", "")
	if err != nil {
		return nil, err
	}
	sources := []source{{"q", "qname"}, {"t", "qtype"}, {"r", "rcode"}}
	aggs := obj{
		"count": obj{"sum": obj{"field": "count"}},
		"mean":  obj{"weighted_avg": obj{"value": obj{"field": "latency_mean"}, "weight": obj{"field": "latency_count"}}},
		"max":   obj{"max": obj{"field": "latency_max"}},
	}
	lookups := []DNSLookup{}
	truncated, err := s.composite(r.Context(), s.alias(pipeline.KindDNS), boolFilter(q.Clauses, clauses...), sources, aggs, s.cfg.MaxArcs, func(b gjson.Result) {
		lookups = append(lookups, DNSLookup{QName: key(b, "q"), QType: key(b, "t"), RCode: key(b, "r"), Count: sum(b, "count"),
			MeanLatencyMs: b.Get("mean.value").Float() / 1e6, MaxLatencyMs: b.Get("max.value").Float() / 1e6})
	})
	if err != nil {
		return nil, err
	}
	return obj{"from": q.Filter.From, "to": q.Filter.To, "ignored": nonNil(q.Ignored), "truncated": truncated, "lookups": lookups}, nil
}

func sortNodes(n []Node) {
	slices.SortFunc(n, func(a, b Node) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
}
