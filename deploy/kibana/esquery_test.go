package kibana

import (
	"encoding/json"
	"strconv"
	"testing"
)

// Kibana's time filter as it sends it: the data view's time field, ISO
// bounds, and an explicit format (start_time is mapped epoch_second, which
// cannot parse ISO bounds by itself). The range covers testdata/*.jsonl.
var timeFilter = map[string]any{"range": map[string]any{timeField: map[string]any{
	"gte": "2025-06-01T00:00:00.000Z", "lte": "2025-07-01T00:00:00.000Z", "format": "strict_date_optional_time",
}}}

// searchBody translates a legacy visualization into the Elasticsearch
// search Kibana runs for it: time filter and query in a bool filter, bucket
// aggregations nested in order ("b0", "b1", ...), and the metrics (named by
// agg id) at every level, so terms can order by them and totals exist at
// the top. The simple field:value KQL the objects use reads the same in
// query_string syntax.
func searchBody(vs visState, query string) []byte {
	metrics := map[string]any{}
	kinds := map[string]string{}
	var buckets []visAgg
	for _, a := range vs.Aggs {
		kinds[a.ID] = a.Type
		switch {
		case a.Schema != "metric":
			buckets = append(buckets, a)
		case a.Type != "count":
			metrics[a.ID] = map[string]any{a.Type: map[string]any{"field": a.Params.Field}}
		}
	}
	level := metrics
	for i := len(buckets) - 1; i >= 0; i-- {
		agg := bucketAgg(buckets[i], kinds)
		if len(level) > 0 {
			agg["aggs"] = level
		}
		next := map[string]any{"b" + strconv.Itoa(i): agg}
		for id, m := range metrics {
			next[id] = m
		}
		level = next
	}
	filter := []any{timeFilter}
	if query != "" {
		filter = append(filter, map[string]any{"query_string": map[string]any{"query": query, "analyze_wildcard": true}})
	}
	b, _ := json.Marshal(map[string]any{
		"size": 0, "track_total_hits": true,
		"query": map[string]any{"bool": map[string]any{"filter": filter}},
		"aggs":  level,
	})
	return b
}

// bucketAgg renders one bucket aggregation; kinds maps agg ids to types so
// a terms ordered by a count metric orders by _count.
func bucketAgg(a visAgg, kinds map[string]string) map[string]any {
	if a.Type == "date_histogram" {
		return map[string]any{"date_histogram": map[string]any{
			"field": a.Params.Field, "fixed_interval": "1h", "time_zone": "UTC", "min_doc_count": 1,
		}}
	}
	order := a.Params.OrderBy
	if kinds[order] == "count" {
		order = "_count"
	}
	return map[string]any{"terms": map[string]any{
		"field": a.Params.Field, "size": a.Params.Size, "order": map[string]any{order: "desc"},
	}}
}

func TestSearchBody(t *testing.T) {
	vs := visState{Aggs: []visAgg{
		{ID: "1", Type: "sum", Schema: "metric"}, {ID: "2", Type: "count", Schema: "metric"},
		{ID: "3", Type: "terms", Schema: "bucket"}, {ID: "4", Type: "date_histogram", Schema: "segment"},
	}}
	vs.Aggs[0].Params.Field = "num_flows"
	vs.Aggs[2].Params.Field, vs.Aggs[2].Params.OrderBy, vs.Aggs[2].Params.Size = "action", "2", 3
	vs.Aggs[3].Params.Field = timeField
	var got struct {
		Query struct {
			Bool struct {
				Filter []map[string]any `json:"filter"`
			} `json:"bool"`
		} `json:"query"`
		Aggs map[string]struct {
			Sum   map[string]any `json:"sum"`
			Terms struct {
				Field string
				Size  int
				Order map[string]string
			} `json:"terms"`
			Aggs map[string]struct {
				Sum           map[string]any `json:"sum"`
				DateHistogram map[string]any `json:"date_histogram"`
				Aggs          map[string]json.RawMessage
			} `json:"aggs"`
		} `json:"aggs"`
	}
	if err := json.Unmarshal(searchBody(vs, "action:deny"), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Query.Bool.Filter) != 2 || got.Query.Bool.Filter[1]["query_string"] == nil {
		t.Errorf("filters %v: want the time range and the query", got.Query.Bool.Filter)
	}
	b0 := got.Aggs["b0"].Terms
	if b0.Field != "action" || b0.Size != 3 || b0.Order["_count"] != "desc" {
		t.Errorf("b0 terms %+v: want action, size 3, ordered by _count (agg 2 is a count)", b0)
	}
	if got.Aggs["1"].Sum["field"] != "num_flows" || got.Aggs["b0"].Aggs["1"].Sum["field"] != "num_flows" {
		t.Errorf("metric 1 missing at the top or inside b0: %+v", got.Aggs)
	}
	inner := got.Aggs["b0"].Aggs["b1"]
	if inner.DateHistogram["field"] != timeField || inner.Aggs["1"] == nil {
		t.Errorf("b1 %+v: want a date_histogram on %s holding metric 1", inner, timeField)
	}
	if len(got.Aggs) != 2 {
		t.Errorf("top-level aggs %v: want metric 1 and b0 only (count has no agg)", got.Aggs)
	}
}
