package ui

import (
	"net/http"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/ui/auth"
)

// obj is a JSON object of an Elasticsearch request body.
type obj = map[string]any

// query is one request's scope over one kind: the parsed filter and the
// Elasticsearch filter clauses that implement it together with the user's
// access. Ignored lists the filter keys that do not apply to the kind
// (labels on L7 logs, for example); views report them.
type query struct {
	Filter  Filter
	Kind    pipeline.Kind
	Clauses []any
	Ignored []string
	// Access holds the user's access clauses alone (also in Clauses), for
	// the few answers that look past the filter, such as "data since".
	Access []any
	// Principal is the signed-in user (auth.FromContext); nil sees nothing.
	Principal *auth.Principal
}

// scope is the ONE place that turns a request into Elasticsearch filter
// clauses: every API endpoint builds its query from scope's clauses, so
// the time range, the filter bar and the user's access (RBAC, #11) hold
// for all of them alike. extra lists the view's own URL keys.
func (s *Server) scope(r *http.Request, kind pipeline.Kind, extra ...string) (query, error) {
	f, err := parseFilter(r.URL.Query(), extra, s.now(), s.cfg.MaxRange)
	if err != nil {
		return query{}, err
	}
	p := auth.FromContext(r.Context())
	q := query{Filter: f, Kind: kind, Principal: p}
	q.Clauses = append(q.Clauses, obj{"range": obj{"@timestamp": obj{
		"gte": f.From.UnixMilli(), "lt": f.To.UnixMilli(), "format": "epoch_millis"}}})
	fields := kindFields[kind]
	add := func(key string, vals []string, clause func([]string) any) {
		if len(vals) == 0 {
			return
		}
		if c := clause(vals); c != nil {
			q.Clauses = append(q.Clauses, c)
			return
		}
		q.Ignored = append(q.Ignored, key)
	}
	side := func(field string) func([]string) any {
		return func(v []string) any {
			if field == "" {
				return nil
			}
			return terms(field, v)
		}
	}
	either := func(a, b string) func([]string) any {
		return func(v []string) any {
			if a == "" || b == "" {
				return nil
			}
			return obj{"bool": obj{"should": []any{terms(a, v), terms(b, v)}, "minimum_should_match": 1}}
		}
	}
	add("src_ns", f.SrcNamespace, side(fields.srcNS))
	add("dst_ns", f.DstNamespace, side(fields.dstNS))
	add("ns", f.Namespace, either(fields.srcNS, fields.dstNS))
	add("src_name", f.SrcName, side(fields.srcName))
	add("dst_name", f.DstName, side(fields.dstName))
	add("name", f.Name, either(fields.srcName, fields.dstName))
	add("src_type", f.SrcType, side(fields.srcType))
	add("dst_type", f.DstType, side(fields.dstType))
	add("type", f.Type, either(fields.srcType, fields.dstType))
	add("action", f.Action, side(fields.action))
	add("reporter", f.Reporter, side(fields.reporter))
	if kind == pipeline.KindFlow {
		for _, l := range f.SrcLabel {
			q.Clauses = append(q.Clauses, labelClause("source_labels", l))
		}
		for _, l := range f.DstLabel {
			q.Clauses = append(q.Clauses, labelClause("dest_labels", l))
		}
		for _, l := range f.Label {
			q.Clauses = append(q.Clauses, obj{"bool": obj{"should": []any{
				labelClause("source_labels", l), labelClause("dest_labels", l)}, "minimum_should_match": 1}})
		}
		if len(f.Tier) > 0 || len(f.Policy) > 0 {
			must := []any{obj{"term": obj{"policy_hits.list": "enforced"}}}
			if len(f.Tier) > 0 {
				must = append(must, terms("policy_hits.tier", f.Tier))
			}
			if len(f.Policy) > 0 {
				must = append(must, terms("policy_hits.name", f.Policy))
			}
			// A hidden policy's name or tier finds nothing: its existence stays hidden.
			if c := auth.ReadableHits(p, auth.PolicyHitFields()); c != nil {
				must = append(must, c)
			}
			q.Clauses = append(q.Clauses, obj{"nested": obj{"path": "policy_hits", "query": obj{"bool": obj{"filter": must}}}})
		}
	} else {
		for _, k := range []struct {
			key  string
			vals []string
		}{{"src_label", f.SrcLabel}, {"dst_label", f.DstLabel}, {"label", f.Label}, {"tier", f.Tier}, {"policy", f.Policy}} {
			if len(k.vals) > 0 {
				q.Ignored = append(q.Ignored, k.key)
			}
		}
	}
	// The user's access rule (docs/security.md), ANDed beside the filter
	// bar's clauses so that no filter can widen it.
	if c := auth.FilterFor(p, accessFields[kind]); c != nil {
		q.Access = []any{c}
		q.Clauses = append(q.Clauses, c)
	}
	return q, nil
}

// accessFields are the endpoint fields of each kind for auth.FilterFor.
var accessFields = map[pipeline.Kind]auth.Fields{
	pipeline.KindFlow: auth.FlowFields(), pipeline.KindL7: auth.L7Fields(), pipeline.KindDNS: auth.DNSFields(),
}

func terms(field string, v []string) any { return obj{"terms": obj{field: v}} }

// labelClause matches a "key=value" label in a nested labels object.
func labelClause(path, label string) any {
	return obj{"nested": obj{"path": path, "query": obj{"term": obj{path + ".labels": label}}}}
}

// kindFieldNames are the document fields the filter bar maps to, per
// kind; "" where a kind has no such field.
type kindFieldNames struct {
	srcNS, dstNS, srcName, dstName, srcType, dstType, action, reporter string
}

var kindFields = map[pipeline.Kind]kindFieldNames{
	pipeline.KindFlow: {"source_namespace", "dest_namespace", "source_name_aggr", "dest_name_aggr",
		"source_type", "dest_type", "action", "reporter"},
	pipeline.KindL7: {"src_namespace", "dest_namespace", "src_name_aggr", "dest_name_aggr",
		"src_type", "dest_type", "", ""},
	pipeline.KindDNS: {srcNS: "client_namespace", srcName: "client_name_aggr"},
}

// boolFilter wraps clauses (and more) as a bool filter query.
func boolFilter(clauses []any, more ...any) any {
	all := append(append([]any(nil), clauses...), more...)
	return obj{"bool": obj{"filter": all}}
}
