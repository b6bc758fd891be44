package ui

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/ui/auth"
)

// maxPage bounds the documents of one flow-log page (and one export).
const maxPage = 500

// flowLogSort is the order of the flow-log table: newest first, ties by
// the document's stable id, so search_after pages never skip or repeat.
var flowLogSort = []any{obj{"@timestamp": "desc"}, obj{"flowship.id": "asc"}}

// flowLogPage runs the search of one flow-log page: size (1..500, default
// 50) documents after the opaque cursor "after".
func (s *Server) flowLogPage(r *http.Request) (q query, res []byte, err error) {
	q, err = s.scope(r, pipeline.KindFlow, "size", "after")
	if err != nil {
		return q, nil, err
	}
	uq := r.URL.Query()
	size := 50
	if v := uq.Get("size"); v != "" {
		size, err = strconv.Atoi(v)
		if err != nil || size < 1 || size > maxPage {
			return q, nil, badf("size=%q: want 1..%d", v, maxPage)
		}
	}
	body := obj{"size": size, "query": boolFilter(q.Clauses), "sort": flowLogSort, "track_total_hits": true}
	if a := uq.Get("after"); a != "" {
		after, err := decodeCursor(a)
		if err != nil {
			return q, nil, err
		}
		body["search_after"] = after
	}
	res, err = s.es.search(r.Context(), s.alias(pipeline.KindFlow), body)
	return q, res, err
}

// handleFlowLogs answers one page of the flow-log table, with the total
// number of matching documents and the cursor of the next page.
func (s *Server) handleFlowLogs(_ http.ResponseWriter, r *http.Request) (any, error) {
	q, res, err := s.flowLogPage(r)
	if err != nil {
		return nil, err
	}
	hits := gjson.GetBytes(res, "hits.hits").Array()
	docs := make([]json.RawMessage, 0, len(hits))
	for _, h := range hits {
		src, err := auth.RedactSource(q.Principal, []byte(h.Get("_source").Raw))
		if err != nil {
			return nil, err
		}
		docs = append(docs, json.RawMessage(src))
	}
	var next any
	if len(hits) > 0 {
		next = encodeCursor(hits[len(hits)-1].Get("sort").Raw)
	}
	return obj{"from": q.Filter.From, "to": q.Filter.To, "ignored": nonNil(q.Ignored),
		"total": gjson.GetBytes(res, "hits.total.value").Int(), "docs": docs, "next": next}, nil
}

// handleExport answers the same page as NDJSON, one document a line.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	q, res, err := s.flowLogPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	hits := gjson.GetBytes(res, "hits.hits").Array()
	out := make([]byte, 0, len(res))
	for _, h := range hits {
		src, err := auth.RedactSource(q.Principal, []byte(h.Get("_source").Raw))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out = append(append(out, src...), '\n')
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="flowship-flows.ndjson"`)
	_, _ = w.Write(out)
}

func encodeCursor(sortRaw string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(sortRaw))
}

// decodeCursor accepts only what encodeCursor makes: [millis, "id"].
func decodeCursor(s string) ([]any, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 1024 {
		return nil, badf("after: not a cursor this server made")
	}
	var v []json.RawMessage
	if json.Unmarshal(b, &v) != nil || len(v) != 2 {
		return nil, badf("after: not a cursor this server made")
	}
	var ms int64
	var id string
	if json.Unmarshal(v[0], &ms) != nil || json.Unmarshal(v[1], &id) != nil {
		return nil, badf("after: not a cursor this server made")
	}
	return []any{ms, id}, nil
}

// hintFields are the fields the filter bar suggests values for.
var hintFields = map[string]string{
	"src_ns": "source_namespace", "dst_ns": "dest_namespace", "ns": "source_namespace",
	"src_name": "source_name_aggr", "dst_name": "dest_name_aggr", "name": "source_name_aggr",
	"tier": "policy.tier", "policy": "policy.name",
}

// handleHints answers the most frequent values of one filter field
// (hint=src_ns, …) in the range, for the filter bar's suggestions.
func (s *Server) handleHints(_ http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.scope(r, pipeline.KindFlow, "hint")
	if err != nil {
		return nil, err
	}
	h := r.URL.Query().Get("hint")
	field, ok := hintFields[h]
	if !ok {
		keys := make([]string, 0, len(hintFields))
		for k := range hintFields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return nil, badf("hint=%q: want one of %v", h, keys)
	}
	agg, path := obj{"terms": obj{"field": field, "size": 100}}, "aggregations.v.buckets"
	if h == "tier" || h == "policy" {
		// Policy names and tiers come from the policy hits the user may
		// read only (the deciding "policy" field would name hidden ones).
		readable := auth.ReadableHits(q.Principal, auth.PolicyHitFields())
		if readable == nil {
			readable = obj{"match_all": obj{}}
		}
		agg = obj{"nested": obj{"path": "policy_hits"}, "aggs": obj{"r": obj{"filter": readable, "aggs": obj{
			"v": obj{"terms": obj{"field": "policy_hits." + strings.TrimPrefix(field, "policy."), "size": 100}}}}}}
		path = "aggregations.v.r.v.buckets"
	}
	res, err := s.es.search(r.Context(), s.alias(pipeline.KindFlow), obj{"size": 0, "track_total_hits": false,
		"query": boolFilter(q.Clauses), "aggs": obj{"v": agg}})
	if err != nil {
		return nil, err
	}
	vals := []string{}
	for _, b := range gjson.GetBytes(res, path).Array() {
		vals = append(vals, b.Get("key").String())
	}
	return obj{"hint": h, "values": vals}, nil
}
