//go:build integration && record

// Recording tools, not tests: they re-record the real server's answers that
// the unit tests replay, so they are not part of `make test`. Run with
//   go test -tags "integration record" -run Record ./sinks/elasticsearch -args -update
// (TestRecordItem429 needs an Elasticsearch with a tiny write queue, see
// sink_tinyqueue_integration_test.go).

package elasticsearch

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// update rewrites recorded testdata from the real Elasticsearch.
var update = flag.Bool("update", false, "re-record testdata/responses from the real Elasticsearch")

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

// TestRecordItem429 records a real response with item-level 429s for the
// classification tests (-update, needs FLOWSHIP_ES_WRITE_QUEUE).
func TestRecordItem429(t *testing.T) {
	if !*update || os.Getenv("FLOWSHIP_ES_WRITE_QUEUE") == "" {
		t.Skip("recording only with -update against an Elasticsearch with a tiny write queue")
	}
	es := testenv.Elasticsearch(t)
	index := testenv.UniqueName(t, "flowship-rec429")
	esDo(t, es, http.MethodPut, "/"+index, `{"settings":{"number_of_shards":4,"number_of_replicas":0}}`)
	t.Cleanup(func() { esDo(t, es, http.MethodDelete, "/"+index, "") })
	var body strings.Builder
	for i := range 200 {
		fmt.Fprintf(&body, `{"create":{"_index":%q,"_id":"%d"}}`+"\n"+`{"n":%d}`+"\n", index, i, i)
	}
	filter := "/_bulk?filter_path=" + strings.Join(filterPath, ",")
	var (
		mu    sync.Mutex
		saved bool
		wg    sync.WaitGroup
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, b := esDo(t, es, http.MethodPost, filter, body.String())
			mu.Lock()
			defer mu.Unlock()
			if st == 200 && !saved && strings.Contains(string(b), `"status":429`) && strings.Contains(string(b), `"status":201`) {
				saved = true
				os.WriteFile(filepath.Join("testdata", "responses", "item_429_filtered.json"), append(b, '\n'), 0o644)
			}
		}()
	}
	wg.Wait()
	if !saved {
		t.Fatal("no response mixed 201 and 429 items; try again or a smaller queue")
	}
}
