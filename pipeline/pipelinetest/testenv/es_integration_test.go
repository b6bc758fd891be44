//go:build integration

package testenv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// TestElasticsearchBulkSearch proves the go-elasticsearch v8 client works against the node
// services.sh runs: index creation, a _bulk of create actions (with a duplicate _id that must
// come back as 409 while the rest succeed), refresh, and search.
func TestElasticsearchBulkSearch(t *testing.T) {
	es := testenv.ESClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	index := testenv.UniqueName(t, "it")

	do(ctx, t, es, esapi.IndicesCreateRequest{
		Index: index,
		Body:  strings.NewReader(`{"settings":{"number_of_replicas":0},"mappings":{"properties":{"src":{"type":"keyword"},"bytes":{"type":"long"}}}}`),
	}, http.StatusOK)
	t.Cleanup(func() {
		res, err := esapi.IndicesDeleteRequest{Index: []string{index}}.Do(context.Background(), es)
		if err != nil {
			t.Logf("cleanup: delete %s: %v", index, err)
			return
		}
		_ = res.Body.Close()
	})

	const docs = 100
	var body bytes.Buffer
	for i := 0; i < docs; i++ {
		fmt.Fprintf(&body, `{"create":{"_index":%q,"_id":"doc-%d"}}`+"\n", index, i)
		fmt.Fprintf(&body, `{"src":"pod-%d","bytes":%d}`+"\n", i%4, i)
	}
	fmt.Fprintf(&body, `{"create":{"_index":%q,"_id":"doc-0"}}`+"\n{\"src\":\"dup\",\"bytes\":0}\n", index)

	var bulk struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			ID     string `json:"_id"`
			Status int    `json:"status"`
		} `json:"items"`
	}
	decode(t, do(ctx, t, es, esapi.BulkRequest{Body: &body, Refresh: "true"}, http.StatusOK), &bulk)
	if len(bulk.Items) != docs+1 || !bulk.Errors {
		t.Fatalf("bulk: %d items, errors=%v; want %d items and errors=true (one duplicate)", len(bulk.Items), bulk.Errors, docs+1)
	}
	for i, item := range bulk.Items {
		want := http.StatusCreated
		if i == docs {
			want = http.StatusConflict
		}
		if got := item["create"].Status; got != want {
			t.Errorf("bulk item %d (%s): status %d, want %d", i, item["create"].ID, got, want)
		}
	}

	var search struct {
		Hits struct {
			Total struct{ Value int } `json:"total"`
			Hits  []struct {
				ID     string          `json:"_id"`
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	decode(t, do(ctx, t, es, esapi.SearchRequest{
		Index: []string{index},
		Body:  strings.NewReader(`{"query":{"term":{"src":"pod-1"}},"sort":[{"bytes":"asc"}],"size":100}`),
	}, http.StatusOK), &search)
	if search.Hits.Total.Value != docs/4 || len(search.Hits.Hits) != docs/4 {
		t.Fatalf("search src=pod-1: total %d, %d hits; want %d", search.Hits.Total.Value, len(search.Hits.Hits), docs/4)
	}
	if h := search.Hits.Hits[0]; h.ID != "doc-1" || string(h.Source) != `{"src":"pod-1","bytes":1}` {
		t.Errorf("first hit = %s %s, want doc-1 with its original source", h.ID, h.Source)
	}
}

// TestElasticsearchWrongCredentials checks that security is really on: a client with a wrong
// password gets 401.
func TestElasticsearchWrongCredentials(t *testing.T) {
	node := testenv.Elasticsearch(t)
	if node.Username == "" {
		t.Skip("Elasticsearch runs without security (FLOWSHIP_ES_SECURITY=off); nothing to reject")
	}
	bad, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: []string{node.URL}, Username: node.Username, Password: node.Password + "-wrong",
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := bad.Cluster.Health()
	if err != nil {
		t.Fatalf("Cluster.Health with a wrong password: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: HTTP %d, want 401", res.StatusCode)
	}
}

type doer interface {
	Do(ctx context.Context, transport esapi.Transport) (*esapi.Response, error)
}

// do runs one request and fails t unless the status is want; it returns the body.
func do(ctx context.Context, t *testing.T, es *elasticsearch.Client, req doer, want int) []byte {
	t.Helper()
	res, err := req.Do(ctx, es)
	if err != nil {
		t.Fatalf("%T: %v", req, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%T: reading body: %v", req, err)
	}
	if res.StatusCode != want {
		t.Fatalf("%T: HTTP %d, want %d: %s", req, res.StatusCode, want, b)
	}
	return b
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}
