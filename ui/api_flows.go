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
// action, with its top ports and enforced policies.
type Arc struct {
	Src      Endpoint    `json:"src"`
	Dst      Endpoint    `json:"dst"`
	Action   string      `json:"action"`
	Counts               // connections, bytes, packets
	Ports    []PortProto `json:"ports"`
	Policies []string    `json:"policies"`
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

// handleFlowGraph answers the Flow Visualizer: every (source, destination,
// action) group in the range with its counts, top ports and policies.
func (s *Server) handleFlowGraph(_ http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.scope(r, pipeline.KindFlow)
	if err != nil {
		return nil, err
	}
	// Arcs name the enforced policies the user may read; hidden ones show
	// as one "*" (auth.Hidden).
	enforced := []any{obj{"term": obj{"policy_hits.list": "enforced"}}}
	hidden := obj{"bool": obj{"must_not": []any{obj{"match_all": obj{}}}}}
	if c := auth.ReadableHits(q.Principal, auth.PolicyHitFields()); c != nil {
		hidden = obj{"bool": obj{"filter": enforced, "must_not": []any{c}}}
		enforced = append(enforced, c)
	}
	sources := []source{
		{"st", "source_type"}, {"sn", "source_namespace"}, {"sa", "source_name_aggr"},
		{"dt", "dest_type"}, {"dn", "dest_namespace"}, {"da", "dest_name_aggr"}, {"a", "action"},
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
	arcs := []Arc{}
	var total Counts
	truncated, err := s.composite(r.Context(), s.alias(pipeline.KindFlow), boolFilter(q.Clauses), sources, aggs, s.cfg.MaxArcs, func(b gjson.Result) {
		a := Arc{
			Src:      endpoint(key(b, "st"), key(b, "sn"), key(b, "sa")),
			Dst:      endpoint(key(b, "dt"), key(b, "dn"), key(b, "da")),
			Action:   key(b, "a"),
			Counts:   counts(b),
			Ports:    []PortProto{},
			Policies: []string{},
		}
		for _, p := range b.Get("ports.buckets").Array() {
			a.Ports = append(a.Ports, PortProto{Port: p.Get("key").Int(), Proto: p.Get("proto.buckets.0.key").String(), Connections: sum(p, "flows")})
		}
		for _, p := range b.Get("pol.enf.names.buckets").Array() {
			a.Policies = append(a.Policies, p.Get("key").String())
		}
		if b.Get("pol.hid.doc_count").Int() > 0 {
			a.Policies = append(a.Policies, auth.Hidden)
		}
		total.add(a.Counts)
		arcs = append(arcs, a)
	})
	if err != nil {
		return nil, err
	}
	return obj{"from": q.Filter.From, "to": q.Filter.To, "ignored": nonNil(q.Ignored), "truncated": truncated, "total": total, "arcs": arcs}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
