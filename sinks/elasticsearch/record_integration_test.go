//go:build integration

package elasticsearch

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// update rewrites recorded testdata from the real Elasticsearch.
var update = flag.Bool("update", false, "re-record testdata/responses from the real Elasticsearch")

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

// TestRecordBulkResponses captures real bulk responses into testdata for
// the classification tests. Run with -tags integration -update.
func TestRecordBulkResponses(t *testing.T) {
	if !*update {
		t.Skip("recording only with -update")
	}
	es := testenv.Elasticsearch(t)
	index := testenv.UniqueName(t, "flowship-rec")
	createStrictIndex(t, es, index)
	act := func(id string) string { return `{"create":{"_index":"` + index + `","_id":"` + id + `"}}` + "\n" }
	filter := "?filter_path=" + strings.Join(filterPath, ",")
	cases := []struct {
		name, method, path, body string
		wantStatus               int
	}{
		{"created_full", "POST", "/_bulk", act("a") + `{"n":1}` + "\n" + act("b") + `{"n":2}` + "\n", 200},
		{"created_filtered", "POST", "/_bulk" + filter, act("c") + `{"n":3}` + "\n" + act("d") + `{"n":4}` + "\n", 200},
		{"mixed_full", "POST", "/_bulk", act("e") + `{"n":5}` + "\n" + act("a") + `{"n":1}` + "\n" +
			act("f") + `{"bytes_in":"abc"}` + "\n" + act("g") + `{"unknown":1}` + "\n", 200},
		{"mixed_filtered", "POST", "/_bulk" + filter, act("h") + `{"n":5}` + "\n" + act("a") + `{"n":1}` + "\n" +
			act("i") + `{"bytes_in":"abc"}` + "\n" + act("j") + `{"unknown":1}` + "\n", 200},
		{"malformed_action_400", "POST", "/_bulk" + filter, `{"insert":{"_index":"` + index + `","_id":"k"}}` + "\n" + `{"n":1}` + "\n", 400},
		{"malformed_document_filtered", "POST", "/_bulk" + filter, act("l") + `{"n":1` + "\n" + act("m") + `{"n":2}` + "\n", 200},
	}
	dir := filepath.Join("testdata", "responses")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	save := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name+".json"), append(bytes.TrimSpace(b), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		st, b := esDo(t, es, c.method, c.path, c.body)
		if st != c.wantStatus {
			t.Fatalf("%s: status %d, want %d: %s", c.name, st, c.wantStatus, b)
		}
		save(c.name, b)
	}
	// A write block makes every item fail with 403 cluster_block_exception.
	if st, b := esDo(t, es, "PUT", "/"+index+"/_block/write", ""); st != 200 {
		t.Fatalf("write block: %d %s", st, b)
	}
	st, b := esDo(t, es, "POST", "/_bulk"+filter, act("n")+`{"n":1}`+"\n")
	if st != 200 {
		t.Fatalf("blocked bulk: %d %s", st, b)
	}
	save("write_block_filtered", b)
	esDo(t, es, "PUT", "/"+index+"/_settings", `{"index.blocks.write":false}`)
	// Wrong credentials.
	bad := es
	bad.Password = "wrong"
	st, b = esDo(t, bad, "POST", "/_bulk"+filter, act("o")+`{"n":1}`+"\n")
	if st != 401 {
		t.Fatalf("wrong password: %d %s", st, b)
	}
	save("unauthorized_401", b)
}
