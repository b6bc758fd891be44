package ui

import (
	"context"

	"github.com/tidwall/gjson"
)

// source is one key of a composite aggregation: its name in the answer
// and the document field it reads.
type source struct{ name, field string }

// compositePage is the most buckets one composite request asks for. Each
// request scans every matching document again, so the views ask for all
// the groups they show (max_arcs, 5,000 by default) in one request
// rather than in pages of 1,000; 10,000 keeps a page well under
// Elasticsearch's search.max_buckets (65,536) with the metric
// sub-aggregations the views use.
const compositePage = 10000

// composite pages through a composite aggregation over sources with aggs
// under each bucket, calling each for every bucket until limit buckets or
// the end. It reports whether it stopped at limit with buckets left.
func (s *Server) composite(ctx context.Context, index string, query any, sources []source, aggs obj, limit int, each func(b gjson.Result)) (truncated bool, err error) {
	srcs := make([]any, len(sources))
	for i, src := range sources {
		srcs[i] = obj{src.name: obj{"terms": obj{"field": src.field, "missing_bucket": true}}}
	}
	var after any
	n := 0
	for {
		comp := obj{"size": min(compositePage, limit-n+1), "sources": srcs}
		if after != nil {
			comp["after"] = after
		}
		agg := obj{"composite": comp}
		if len(aggs) > 0 {
			agg["aggs"] = aggs
		}
		res, err := s.es.search(ctx, index, obj{"size": 0, "track_total_hits": false, "query": query, "aggs": obj{"c": agg}})
		if err != nil {
			return false, err
		}
		buckets := gjson.GetBytes(res, "aggregations.c.buckets").Array()
		for _, b := range buckets {
			if n == limit {
				return true, nil
			}
			each(b)
			n++
		}
		ak := gjson.GetBytes(res, "aggregations.c.after_key")
		if len(buckets) == 0 || !ak.Exists() {
			return false, nil
		}
		after = rawJSON(ak.Raw)
	}
}

// rawJSON is JSON text passed through to a request body as is.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// sum reads a sum (or other single-value metric) sub-aggregation.
func sum(b gjson.Result, name string) int64 { return b.Get(name + ".value").Int() }

// key reads a composite key, "" for a missing value.
func key(b gjson.Result, name string) string { return b.Get("key." + name).String() }
