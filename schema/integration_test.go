//go:build integration

package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// esClient is the few REST calls this test needs, over plain net/http.
type esClient struct {
	t   *testing.T
	env testenv.ES
}

func (c esClient) do(method, path string, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, strings.TrimRight(c.env.URL, "/")+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.env.Username != "" {
		req.SetBasicAuth(c.env.Username, c.env.Password)
	}
	ct := "application/json"
	if strings.HasSuffix(path, "_bulk") || strings.Contains(path, "_bulk?") {
		ct = "application/x-ndjson"
	}
	req.Header.Set("Content-Type", ct)
	client := http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, out
}

// count runs a query and returns the hit count.
func (c esClient) count(index, query string) int {
	c.t.Helper()
	status, body := c.do("POST", "/"+index+"/_count", []byte(`{"query":`+query+`}`))
	if status != 200 {
		c.t.Fatalf("count %s: HTTP %d %s", query, status, body)
	}
	var r struct{ Count int }
	if err := json.Unmarshal(body, &r); err != nil {
		c.t.Fatal(err)
	}
	return r.Count
}

type esQuery struct {
	name  string
	query string
	match func(line []byte) bool // which sample lines the query must find
}

// The mappings install on a real Elasticsearch with their settings, every
// golden document indexes without a mapping error, and keyword terms,
// normalizers, aliases and date ranges answer as the parsed lines say.
func TestMappingsOnElasticsearch(t *testing.T) {
	es := esClient{t: t, env: testenv.Elasticsearch(t)}
	queries := map[pipeline.Kind][]esQuery{
		pipeline.KindFlow: {
			{"term keyword", `{"term":{"source_namespace":"shop"}}`, flowMatch(func(f *Flow) bool { return f.SourceNamespace == "shop" })},
			{"term policy.tier", `{"term":{"policy.tier":"default"}}`, flowMatch(func(f *Flow) bool {
				p, ok := decidingPolicy(f.Policies.Enforced.Strings())
				return ok && !f.PoliciesNull && p.Tier == "default"
			})},
			// Kibana's time filter: ISO bounds with an explicit format, since
			// epoch_second alone does not parse them.
			{"range start_time as Kibana sends it", `{"range":{"start_time":{"gte":"2025-06-10T08:00:00.000Z","lt":"2025-06-10T08:00:05.000Z","format":"strict_date_optional_time"}}}`,
				flowMatch(func(f *Flow) bool { return f.StartTime >= 1749542400 && f.StartTime < 1749542405 })},
			{"range @timestamp millis", `{"range":{"@timestamp":{"gte":1749542700000}}}`, flowMatch(func(f *Flow) bool { return f.EndTime >= 1749542700 })},
			{"alias dest_port_num", `{"term":{"dest_port_num":5432}}`, flowMatch(func(f *Flow) bool { return f.DestPort.Valid && f.DestPort.V == 5432 })},
			{"null source_ip indexed as 0.0.0.0", `{"term":{"source_ip":"0.0.0.0"}}`, flowMatch(func(f *Flow) bool { return f.SourceIP == "" })},
			{"nested labels", `{"nested":{"path":"source_labels","query":{"term":{"source_labels.labels":"app=storefront"}}}}`,
				flowMatch(func(f *Flow) bool { return strings.Contains(f.SourceLabels.Raw, `"app=storefront"`) })},
		},
		pipeline.KindL7: {
			{"term response_code", `{"term":{"response_code":"200"}}`, l7Match(func(l *L7) bool { return l.ResponseCode == "200" })},
			{"alias source_name_aggr", `{"term":{"source_name_aggr":"storefront-7d9c5b6f4-*"}}`, l7Match(func(l *L7) bool { return l.SrcNameAggr == "storefront-7d9c5b6f4-*" })},
			// A JSON number would be read as epoch millis; a string goes
			// through the field's epoch_second format.
			{"range start_time epoch seconds", `{"range":{"start_time":{"gte":"1749542400","lte":"1749542400"}}}`, l7Match(func(l *L7) bool { return l.StartTime == 1749542400 })},
		},
		pipeline.KindDNS: {
			{"qname lowercase normalizer", `{"term":{"qname":"CART-API.SHOP.svc.cluster.local"}}`,
				dnsMatch(func(d *DNS) bool { return strings.EqualFold(d.QName, "cart-api.shop.svc.cluster.local") })},
			{"term rcode as Felix writes it", `{"term":{"rcode":"NXDomain"}}`, dnsMatch(func(d *DNS) bool { return d.RCode == "NXDomain" })},
			{"alias dns.question.name", `{"term":{"dns.question.name":"cart-api.shop.svc.cluster.local"}}`,
				dnsMatch(func(d *DNS) bool { return strings.EqualFold(d.QName, "cart-api.shop.svc.cluster.local") })},
			{"range start_time RFC 3339 nanos", `{"range":{"start_time":{"gte":"2025-06-10T08:00:03.000Z"}}}`,
				dnsMatch(func(d *DNS) bool { return d.StartTime >= 1749542403000000000 })},
			{"range @timestamp alias", `{"range":{"@timestamp":{"gte":"2025-06-10T08:05:00.000Z"}}}`,
				dnsMatch(func(d *DNS) bool { return d.EndTime >= 1749542700000000000 })},
		},
	}
	for _, kind := range pipeline.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			es.t = t
			index := createIndex(t, es, kind)
			var lines [][]byte
			var bulk []byte
			for _, s := range samples(t) {
				if s.kind != kind {
					continue
				}
				doc, err := encodeLine(kind, s.name, s.line)
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, s.line)
				bulk = fmt.Appendf(bulk, `{"create":{"_index":%q,"_id":%q}}`+"\n%s\n", index, s.name, doc)
			}
			status, body := es.do("POST", "/_bulk?refresh=true", bulk)
			if status != 200 || bytes.Contains(body, []byte(`"errors":true`)) {
				t.Fatalf("bulk: HTTP %d %s", status, body)
			}
			if n := es.count(index, `{"match_all":{}}`); n != len(lines) {
				t.Fatalf("count = %d, want %d", n, len(lines))
			}
			if kind == pipeline.KindFlow {
				checkFlowAggregations(t, es, index, lines)
			}
			for _, q := range queries[kind] {
				want := 0
				for _, l := range lines {
					if q.match(l) {
						want++
					}
				}
				if want == 0 {
					t.Fatalf("%s: no sample matches; the check would prove nothing", q.name)
				}
				if got := es.count(index, q.query); got != want {
					t.Errorf("%s: %s found %d documents, want %d", q.name, q.query, got, want)
				}
			}
		})
	}
}

// checkFlowAggregations runs what the dashboards run: a terms
// aggregation on policy.name and a date_histogram on end_time.
func checkFlowAggregations(t *testing.T, es esClient, index string, lines [][]byte) {
	t.Helper()
	want := map[string]int{}
	minutes := map[int64]bool{}
	for _, l := range lines {
		var f Flow
		if err := ParseFlow(l, &f); err != nil {
			t.Fatal(err)
		}
		if p, ok := decidingPolicy(f.Policies.Enforced.Strings()); ok && !f.PoliciesNull {
			want[p.Name]++
		}
		minutes[f.EndTime/60] = true
	}
	status, body := es.do("POST", "/"+index+"/_search?size=0", []byte(`{"aggs":{
		"pol":{"terms":{"field":"policy.name","size":100}},
		"hist":{"date_histogram":{"field":"end_time","fixed_interval":"1m","min_doc_count":1}}}}`))
	if status != 200 {
		t.Fatalf("aggregations: HTTP %d %s", status, body)
	}
	var r struct {
		Aggregations struct {
			Pol, Hist struct {
				Buckets []struct {
					Key      any
					DocCount int `json:"doc_count"`
				}
			}
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, b := range r.Aggregations.Pol.Buckets {
		got[fmt.Sprint(b.Key)] = b.DocCount
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("terms policy.name = %v, want %v", got, want)
	}
	if len(r.Aggregations.Hist.Buckets) != len(minutes) {
		t.Errorf("date_histogram end_time: %d buckets, want %d", len(r.Aggregations.Hist.Buckets), len(minutes))
	}
}

func createIndex(t *testing.T, es esClient, kind pipeline.Kind) string {
	t.Helper()
	index := testenv.UniqueName(t, "flowship-schema")
	body := fmt.Appendf(nil, `{"settings":%s,"mappings":%s}`, Settings(kind), Mapping(kind))
	status, resp := es.do("PUT", "/"+index, body)
	if status != 200 {
		t.Fatalf("create index %s: HTTP %d %s", index, status, resp)
	}
	t.Cleanup(func() { es.do("DELETE", "/"+index, nil) })
	return index
}

func flowMatch(pred func(*Flow) bool) func([]byte) bool {
	return func(line []byte) bool {
		var f Flow
		return ParseFlow(line, &f) == nil && pred(&f)
	}
}

func l7Match(pred func(*L7) bool) func([]byte) bool {
	return func(line []byte) bool {
		var l L7
		return ParseL7(line, &l) == nil && pred(&l)
	}
}

func dnsMatch(pred func(*DNS) bool) func([]byte) bool {
	return func(line []byte) bool {
		var d DNS
		return ParseDNS(line, &d) == nil && pred(&d)
	}
}
