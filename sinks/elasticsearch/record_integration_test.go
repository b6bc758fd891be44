//go:build integration

package elasticsearch

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// createStrictIndex creates index with a strict mapping: bytes_in is a
// long and unknown fields are rejected.
func createStrictIndex(t *testing.T, es testenv.ES, index string) {
	t.Helper()
	st, b := esDo(t, es, http.MethodPut, "/"+index, `{"settings":{"number_of_replicas":0},
		"mappings":{"dynamic":"strict","properties":{"n":{"type":"long"},"bytes_in":{"type":"long"},"p":{"type":"keyword"}}}}`)
	if st != 200 {
		t.Fatalf("creating %s: %d %s", index, st, b)
	}
	t.Cleanup(func() { esDo(t, es, http.MethodDelete, "/"+index, "") })
}

// esDo sends one request to the real Elasticsearch and returns status and
// body.
func esDo(t *testing.T, es testenv.ES, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, es.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true // no idle connection left for goleak
	req.Header.Set("Content-Type", "application/x-ndjson")
	if es.Username != "" {
		req.SetBasicAuth(es.Username, es.Password)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}
