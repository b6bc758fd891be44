package ui

import (
	"net/http"

	"github.com/flowship/flowship/pipeline"
)

// obj is a JSON object of an Elasticsearch request body.
type obj = map[string]any

// Access is what one request's user may see. Today every user sees
// everything (issue #11 adds authentication); the type exists so that the
// RBAC rule plugs into scope and nowhere else.
type Access struct {
	// All is true when the user may see every namespace.
	All bool
	// Namespaces the user may see when All is false: a flow is visible
	// when either endpoint is in one of them.
	Namespaces []string
}

// accessFor returns the access of r's user.
func (s *Server) accessFor(*http.Request) Access { return Access{All: true} }

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
	q := query{Filter: f, Kind: kind}
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
	if acc := s.accessFor(r); !acc.All {
		q.Access = []any{accessClause(fields, acc)}
		q.Clauses = append(q.Clauses, q.Access...)
	}
	return q, nil
}

// accessClause limits a query to the flows whose source or destination
// namespace the user may see (deny everything when there is none).
func accessClause(fields kindFieldNames, acc Access) any {
	if len(acc.Namespaces) == 0 {
		return obj{"bool": obj{"must_not": obj{"match_all": obj{}}}}
	}
	should := []any{}
	for _, f := range []string{fields.srcNS, fields.dstNS} {
		if f != "" {
			should = append(should, terms(f, acc.Namespaces))
		}
	}
	return obj{"bool": obj{"should": should, "minimum_should_match": 1}}
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
