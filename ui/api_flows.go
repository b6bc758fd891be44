package ui

import (
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/ui/auth"
)

// Endpoint is one end of a flow as the Flow Visualizer groups it: Group is
// the outer ring (a namespace, or a group of its own for networks, network
// sets and host endpoints), Name the inner ring (name_aggr).
type Endpoint struct {
	Type      string `json:"type"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Group     string `json:"group"`
	GroupKind string `json:"group_kind"` // namespace | net | netset | hep
}

// endpoint groups an endpoint: wep by namespace; net as public or private
// networks (name_aggr "pub" / "pvt", spec §2.1); ns (network sets) by
// namespace, global ones together; hep as host endpoints.
func endpoint(typ, ns, name string) Endpoint {
	e := Endpoint{Type: typ, Namespace: ns, Name: name, Group: ns, GroupKind: "namespace"}
	switch typ {
	case "net":
		e.GroupKind, e.Group = "net", "private networks"
		if name == "pub" {
			e.Group = "public networks"
		}
	case "ns":
		e.GroupKind, e.Group = "netset", "network sets"
		if ns != "" && ns != "-" {
			e.Group = "network sets in " + ns
		}
	case "hep":
		e.GroupKind, e.Group = "hep", "host endpoints"
	}
	return e
}

// Counts are the traffic of an arc, edge or total.
type Counts struct {
	Connections int64 `json:"connections"` // sum of num_flows
	Bytes       int64 `json:"bytes"`       // bytes_in + bytes_out
	Packets     int64 `json:"packets"`     // packets_in + packets_out
}

func (c *Counts) add(o Counts) {
	c.Connections += o.Connections
	c.Bytes += o.Bytes
	c.Packets += o.Packets
}

// PortProto is a destination port with its protocol and connections.
type PortProto struct {
	Port        int64  `json:"port"`
	Proto       string `json:"proto"`
	Connections int64  `json:"connections"`
}

// Arc is one flow group of the Flow Visualizer: source, destination and
// action with its counts (its ports and policies: ArcDetail).
type Arc struct {
	Src    Endpoint `json:"src"`
	Dst    Endpoint `json:"dst"`
	Action string   `json:"action"`
	Counts          // connections, bytes, packets
}

// countAggs are the sums every graph bucket carries.
var countAggs = obj{
	"flows": obj{"sum": obj{"field": "num_flows"}},
	"bi":    obj{"sum": obj{"field": "bytes_in"}}, "bo": obj{"sum": obj{"field": "bytes_out"}},
	"pi": obj{"sum": obj{"field": "packets_in"}}, "po": obj{"sum": obj{"field": "packets_out"}},
}

func counts(b gjson.Result) Counts {
	return Counts{Connections: sum(b, "flows"), Bytes: sum(b, "bi") + sum(b, "bo"), Packets: sum(b, "pi") + sum(b, "po")}
}

func withCounts(more obj) obj {
	out := obj{}
	for k, v := range countAggs {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// flowGraphSources are the composite keys of a Flow Visualizer arc.
var flowGraphSources = []source{
	{"st", "source_type"}, {"sn", "source_namespace"}, {"sa", "source_name_aggr"},
	{"dt", "dest_type"}, {"dn", "dest_namespace"}, {"da", "dest_name_aggr"}, {"a", "action"},
}

// handleFlowGraph answers the Flow Visualizer: every (source, destination,
// action) group in the range with its counts. The ports and policies of an
// arc are not here: a nested policy_hits and a ports terms aggregation
// under each of up to max_arcs groups made this query seconds slow on a
// million documents (benchmarks/results/ui-2026-12-03-1m.md); the page
// asks /api/flows/arc for the one arc the user hovers.
func (s *Server) handleFlowGraph(_ http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.scope(r, pipeline.KindFlow)
	if err != nil {
		return nil, err
	}
	arcs := []Arc{}
	var total Counts
	truncated, err := s.composite(r.Context(), s.alias(pipeline.KindFlow), boolFilter(q.Clauses), flowGraphSources, countAggs, s.cfg.MaxArcs, func(b gjson.Result) {
		a := Arc{
			Src:    endpoint(key(b, "st"), key(b, "sn"), key(b, "sa")),
			Dst:    endpoint(key(b, "dt"), key(b, "dn"), key(b, "da")),
			Action: key(b, "a"),
			Counts: counts(b),
		}
		total.add(a.Counts)
		arcs = append(arcs, a)
	})
	if err != nil {
		return nil, err
	}
	return obj{"from": q.Filter.From, "to": q.Filter.To, "ignored": nonNil(q.Ignored), "truncated": truncated, "total": total, "arcs": arcs}, nil
}

// arcKeys name one arc of the Flow Visualizer for /api/flows/arc: the
// values of its source and destination type, namespace and name_aggr and
// its action, as /api/flows/graph answered them. A key given empty
// matches documents without the field (the graph's missing bucket); a
// key not given matches any value.
var arcKeys = []struct{ key, field string }{
	{"arc_src_type", "source_type"}, {"arc_src_ns", "source_namespace"}, {"arc_src_name", "source_name_aggr"},
	{"arc_dst_type", "dest_type"}, {"arc_dst_ns", "dest_namespace"}, {"arc_dst_name", "dest_name_aggr"},
	{"arc_action", "action"},
}

// ArcDetail is what the Flow Visualizer shows when an arc is hovered:
// its top destination ports and the enforced policies that decided it.
type ArcDetail struct {
	Ports    []PortProto `json:"ports"`
	Policies []string    `json:"policies"`
	Counts
}

// handleFlowArc answers the hover detail of one arc: within the filter,
// the flows of the arc named by the arc_* keys, with their top 5 ports
// (each with its protocol) and top 5 enforced policies. Policies the user
// may not read show as one "*" (auth.Hidden).
func (s *Server) handleFlowArc(_ http.ResponseWriter, r *http.Request) (any, error) {
	names := make([]string, len(arcKeys))
	for i, k := range arcKeys {
		names[i] = k.key
	}
	q, err := s.scope(r, pipeline.KindFlow, names...)
	if err != nil {
		return nil, err
	}
	var clauses []any
	uq := r.URL.Query()
	for _, k := range arcKeys {
		vals, ok := uq[k.key]
		if !ok {
			continue
		}
		if len(vals) != 1 {
			return nil, badf("%s: give it once", k.key)
		}
		v := vals[0]
		if v == "" {
			clauses = append(clauses, obj{"bool": obj{"must_not": []any{obj{"exists": obj{"field": k.field}}}}})
			continue
		}
		if err := checkValue(k.key, v); err != nil {
			return nil, err
		}
		clauses = append(clauses, obj{"term": obj{k.field: v}})
	}
	enforced := []any{obj{"term": obj{"policy_hits.list": "enforced"}}}
	hidden := obj{"bool": obj{"must_not": []any{obj{"match_all": obj{}}}}}
	if c := auth.ReadableHits(q.Principal, auth.PolicyHitFields()); c != nil {
		hidden = obj{"bool": obj{"filter": enforced, "must_not": []any{c}}}
		enforced = append(enforced, c)
	}
	aggs := withCounts(obj{
		"ports": obj{"terms": obj{"field": "dest_port", "size": 5}, "aggs": obj{
			"proto": obj{"terms": obj{"field": "proto", "size": 1}},
			"flows": obj{"sum": obj{"field": "num_flows"}}}},
		"pol": obj{"nested": obj{"path": "policy_hits"}, "aggs": obj{
			"enf": obj{"filter": obj{"bool": obj{"filter": enforced}}, "aggs": obj{
				"names": obj{"terms": obj{"field": "policy_hits.name", "size": 5}}}},
			"hid": obj{"filter": hidden}}},
	})
	res, err := s.es.search(r.Context(), s.alias(pipeline.KindFlow), obj{"size": 0, "track_total_hits": false, "query": boolFilter(q.Clauses, clauses...), "aggs": aggs})
	if err != nil {
		return nil, err
	}
	b := gjson.GetBytes(res, "aggregations")
	d := ArcDetail{Ports: []PortProto{}, Policies: []string{}, Counts: counts(b)}
	for _, p := range b.Get("ports.buckets").Array() {
		d.Ports = append(d.Ports, PortProto{Port: p.Get("key").Int(), Proto: p.Get("proto.buckets.0.key").String(), Connections: sum(p, "flows")})
	}
	for _, p := range b.Get("pol.enf.names.buckets").Array() {
		d.Policies = append(d.Policies, p.Get("key").String())
	}
	if b.Get("pol.hid.doc_count").Int() > 0 {
		d.Policies = append(d.Policies, auth.Hidden)
	}
	return obj{"from": q.Filter.From, "to": q.Filter.To, "ignored": nonNil(q.Ignored), "arc": d}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
