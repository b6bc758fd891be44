//go:build integration

package kibana

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
	"github.com/flowship/flowship/schema"
	"github.com/flowship/flowship/schema/schematest"
)

// TestVisualizationsRunOnElasticsearch proves, without Kibana, that every
// visualization's query and aggregations run on a real Elasticsearch
// against an index with the schema's mapping holding documents made by
// the schema's encoders: Kibana's time filter on start_time, the KQL
// query, the bucket aggregations (nested as Kibana nests them) and the
// metrics; every bucket aggregation must return buckets and every metric
// a positive value. It also checks _field_caps, which is how a data view
// learns which fields it can aggregate on.
func TestVisualizationsRunOnElasticsearch(t *testing.T) {
	es := newESClient(t)
	indices := map[pipeline.Kind]string{}
	for _, k := range pipeline.Kinds {
		indices[k] = es.createIndex(t, k)
	}
	for _, k := range pipeline.Kinds {
		checkFieldCaps(t, es, indices[k], k)
	}
	for _, o := range loadObjects(t) {
		if o.Type != "visualization" {
			continue
		}
		t.Run(o.ID, func(t *testing.T) {
			kind, ss := visKind(t, o)
			var vs visState
			jsonAttr(t, o, "visState", &vs)
			body := searchBody(vs, ss.Query.Query)
			status, resp := es.do(t, "POST", "/"+indices[kind]+"/_search", body)
			if status != 200 {
				t.Fatalf("search: %d %s\nrequest %s", status, resp, body)
			}
			checkSearchResult(t, vs, resp)
		})
	}
}

type esClient struct {
	url, user, password string
	http                *http.Client
}

func newESClient(t *testing.T) *esClient {
	e := testenv.Elasticsearch(t)
	c := &esClient{url: strings.TrimRight(e.URL, "/"), user: e.Username, password: e.Password,
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}}
	// Registered first, so it runs after the index deletions. testenv's
	// health check uses http.DefaultClient, whose idle connection goleak
	// would report.
	t.Cleanup(func() {
		c.http.CloseIdleConnections()
		http.DefaultClient.CloseIdleConnections()
	})
	return c
}

func (c *esClient) do(t *testing.T, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if strings.HasSuffix(strings.SplitN(path, "?", 2)[0], "_bulk") {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// createIndex creates an index with kind's schema mapping and indexes the
// documents encoded from testdata/<kind>.jsonl; it is deleted after the test.
func (c *esClient) createIndex(t *testing.T, k pipeline.Kind) string {
	t.Helper()
	name := fmt.Sprintf("flowship-kibana-it-%s-%d", k, time.Now().UnixNano())
	settings := string(schema.Settings(k))
	body := fmt.Sprintf(`{"settings":%s,"mappings":%s}`, settings, schema.Mapping(k))
	status, resp := c.do(t, "PUT", "/"+name, []byte(body))
	if status == 400 && bytes.Contains(resp, []byte("failed to find filter under name [uppercase]")) {
		// The stripped-down test Elasticsearch lacks the analysis-common
		// module that provides the uppercase filter. A lowercase normalizer
		// exercises the same paths (it applies to indexing and queries).
		t.Logf("%s: this Elasticsearch has no uppercase token filter; using lowercase in the normalizer", k)
		settings = strings.ReplaceAll(settings, `"uppercase"]`, `"lowercase"]`)
		body = fmt.Sprintf(`{"settings":%s,"mappings":%s}`, settings, schema.Mapping(k))
		status, resp = c.do(t, "PUT", "/"+name, []byte(body))
	}
	if status != 200 {
		t.Fatalf("create %s: %d %s", name, status, resp)
	}
	t.Cleanup(func() { c.do(t, "DELETE", "/"+name, nil) })
	var bulk bytes.Buffer
	for i, doc := range encodeDocs(t, k) {
		fmt.Fprintf(&bulk, `{"create":{"_id":"%d"}}`+"\n%s\n", i, doc)
	}
	status, resp = c.do(t, "POST", "/"+name+"/_bulk?refresh=true", bulk.Bytes())
	var r struct {
		Errors bool `json:"errors"`
	}
	if status != 200 || json.Unmarshal(resp, &r) != nil || r.Errors {
		t.Fatalf("bulk into %s: %d %s", name, status, resp)
	}
	return name
}

// encodeDocs turns the raw Felix lines of testdata/<kind>.jsonl into
// documents the way the pipeline does: parse, view → document, encode.
func encodeDocs(t *testing.T, k pipeline.Kind) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/" + string(k) + ".jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	meta := schema.Meta{Cluster: "it", Host: "node-1", Records: 1}
	for line := 1; sc.Scan(); line++ {
		var (
			doc []byte
			err error
		)
		switch k {
		case pipeline.KindFlow:
			var v schema.Flow
			if err = schema.ParseFlow(sc.Bytes(), &v); err == nil {
				d := schema.FlowDocFromView(&v)
				d.Meta = meta
				doc = schema.AppendFlowDoc(nil, &d)
			}
		case pipeline.KindL7:
			var v schema.L7
			if err = schema.ParseL7(sc.Bytes(), &v); err == nil {
				d := schema.L7DocFromView(&v)
				d.Meta = meta
				doc = schema.AppendL7Doc(nil, &d)
			}
		case pipeline.KindDNS:
			var v schema.DNS
			if err = schema.ParseDNS(sc.Bytes(), &v); err == nil {
				d := schema.DNSDocFromView(&v)
				d.Meta = meta
				doc = schema.AppendDNSDoc(nil, &d)
			}
		}
		if err != nil {
			t.Fatalf("testdata/%s.jsonl:%d: %v", k, line, err)
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		t.Fatalf("testdata/%s.jsonl has no documents", k)
	}
	return docs
}

// checkFieldCaps checks what Kibana's data view will see: the time field
// is a date, and every field a visualization aggregates on is aggregatable
// with the type the mapping declares.
func checkFieldCaps(t *testing.T, es *esClient, index string, k pipeline.Kind) {
	t.Helper()
	status, resp := es.do(t, "GET", "/"+index+"/_field_caps?fields=*", nil)
	if status != 200 {
		t.Fatalf("_field_caps %s: %d %s", index, status, resp)
	}
	var caps struct {
		Fields map[string]map[string]struct {
			Aggregatable bool `json:"aggregatable"`
			Searchable   bool `json:"searchable"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(resp, &caps); err != nil {
		t.Fatal(err)
	}
	if _, ok := caps.Fields[timeField]["date"]; !ok {
		t.Errorf("%s: field caps of %s: %v, want a date", k, timeField, caps.Fields[timeField])
	}
	want := schematest.Fields(k)
	for _, field := range visualizedFields(t, k) {
		c, ok := caps.Fields[field][want[field]]
		if !ok || !c.Aggregatable || !c.Searchable {
			t.Errorf("%s: field caps of %s = %v, want aggregatable and searchable %s", k, field, caps.Fields[field], want[field])
		}
	}
}

// visualizedFields lists the fields the visualizations of kind aggregate on.
func visualizedFields(t *testing.T, k pipeline.Kind) []string {
	var out []string
	for _, o := range loadObjects(t) {
		if o.Type != "visualization" {
			continue
		}
		if kind, _ := visKind(t, o); kind != k {
			continue
		}
		var vs visState
		jsonAttr(t, o, "visState", &vs)
		for _, a := range vs.Aggs {
			if a.Params.Field != "" {
				out = append(out, a.Params.Field)
			}
		}
	}
	return out
}

// checkSearchResult checks one visualization's answer: no shard failed,
// documents matched, every metric is positive over the whole range (a sum
// over an unmapped field would be 0, an avg or max null), and every bucket
// level, followed down its first bucket, has buckets (terms over an
// unmapped field would have none).
func checkSearchResult(t *testing.T, vs visState, resp []byte) {
	t.Helper()
	var r struct {
		Shards struct {
			Failed int `json:"failed"`
		} `json:"_shards"`
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
		} `json:"hits"`
		Aggs map[string]json.RawMessage `json:"aggregations"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatalf("%v: %s", err, resp)
	}
	if r.Shards.Failed != 0 || r.Hits.Total.Value == 0 {
		t.Fatalf("%d shards failed, %d hits: %s", r.Shards.Failed, r.Hits.Total.Value, resp)
	}
	level := r.Aggs
	for _, a := range vs.Aggs {
		if a.Schema == "metric" && a.Type != "count" {
			var m struct {
				Value *float64 `json:"value"`
			}
			if json.Unmarshal(level[a.ID], &m) != nil || m.Value == nil || *m.Value <= 0 {
				t.Errorf("metric %s %s(%s) = %s, want a positive value", a.ID, a.Type, a.Params.Field, level[a.ID])
			}
		}
	}
	for i := 0; ; i++ {
		name := "b" + fmt.Sprint(i)
		raw, ok := level[name]
		if !ok {
			return
		}
		var b struct {
			Buckets []map[string]json.RawMessage `json:"buckets"`
		}
		if err := json.Unmarshal(raw, &b); err != nil || len(b.Buckets) == 0 {
			t.Fatalf("bucket level %d has no buckets: %s", i, raw)
		}
		level = b.Buckets[0]
	}
}
