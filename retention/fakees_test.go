package retention

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
)

// fakeES is an in-memory Elasticsearch for unit tests: it stores ILM
// policies, component and index templates as PUT, answers GETs in the
// shapes Elasticsearch uses, lists and deletes indices, and records every
// request. Shapes of the real server are checked by the integration tests
// and by the recorded responses in testdata/recorded.
type fakeES struct {
	mu         sync.Mutex
	ilm        bool
	objects    map[string][]byte // path -> PUT body
	indices    map[string]bool
	requests   []string // "METHOD path"
	failPut    map[string]string
	failDelete map[string]bool
}

func newFakeES(ilm bool) *fakeES {
	return &fakeES{ilm: ilm, objects: map[string][]byte{}, indices: map[string]bool{},
		failPut: map[string]string{}, failDelete: map[string]bool{}}
}

// client returns a go-elasticsearch client whose transport calls f in
// memory (no sockets, so it also works inside a synctest bubble).
func (f *fakeES) client(t testing.TB) *elasticsearch.Client {
	t.Helper()
	c, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: []string{"http://fake-es:9200"},
		Transport: roundTripper(f.ServeHTTP),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type roundTripper func(http.ResponseWriter, *http.Request)

func (h roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	h(w, r)
	return w.Result(), nil
}

// writes returns the recorded requests that are not GETs.
func (f *fakeES) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		if !strings.HasPrefix(r, "GET ") {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	p := r.URL.Path
	f.requests = append(f.requests, r.Method+" "+p)
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
	}
	reply := func(status int, v string) { w.WriteHeader(status); _, _ = io.WriteString(w, v) }
	notFound := `{"error":{"root_cause":[{"type":"resource_not_found_exception","reason":"not found"}],"type":"resource_not_found_exception","reason":"not found"},"status":404}`
	switch {
	case p == "/_ilm/status" && !f.ilm: // as recorded from the integ-test distribution
		reply(405, `{"error":"Incorrect HTTP method for uri [/_ilm/status] and method [GET], allowed: [POST]","status":405}`)
	case strings.HasPrefix(p, "/_ilm/") && !f.ilm:
		reply(400, fmt.Sprintf(`{"error":"no handler found for uri [%s] and method [%s]"}`, p, r.Method))
	case p == "/_ilm/status":
		reply(200, `{"operation_mode":"RUNNING"}`)
	case r.Method == http.MethodPut:
		if reason, ok := f.failPut[p]; ok {
			reply(400, fmt.Sprintf(`{"error":{"root_cause":[{"type":"mapper_parsing_exception","reason":%q}],"type":"mapper_parsing_exception","reason":%q},"status":400}`, reason, reason))
			return
		}
		if !json.Valid(body) {
			reply(400, `{"error":{"type":"parse_exception","reason":"bad json"},"status":400}`)
			return
		}
		f.objects[p] = body
		reply(200, `{"acknowledged":true}`)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/_cat/indices/"):
		f.catIndices(w, strings.TrimPrefix(p, "/_cat/indices/"))
	case r.Method == http.MethodGet:
		stored, ok := f.objects[p]
		if !ok {
			reply(404, notFound)
			return
		}
		reply(200, getShape(p, stored))
	case r.Method == http.MethodDelete:
		name := strings.TrimPrefix(p, "/")
		switch {
		case f.failDelete[name]:
			reply(500, `{"error":{"type":"process_cluster_event_timeout_exception","reason":"failed to process cluster event"},"status":500}`)
		case f.indices[name]:
			delete(f.indices, name)
			reply(200, `{"acknowledged":true}`)
		default:
			reply(404, notFound)
		}
	default:
		reply(400, `{"error":"unexpected request"}`)
	}
}

func (f *fakeES) catIndices(w http.ResponseWriter, pattern string) {
	var rows []map[string]string
	for name := range f.indices {
		if ok, _ := path.Match(pattern, name); ok {
			rows = append(rows, map[string]string{"index": name})
		}
	}
	slices.SortFunc(rows, func(a, b map[string]string) int { return strings.Compare(a["index"], b["index"]) })
	if rows == nil {
		rows = []map[string]string{}
	}
	b, _ := json.Marshal(rows)
	w.WriteHeader(200)
	_, _ = w.Write(b)
}

// getShape wraps a stored PUT body the way the GET API of its type answers.
func getShape(p string, stored []byte) string {
	name := path.Base(p)
	switch {
	case strings.HasPrefix(p, "/_ilm/policy/"):
		var req struct {
			Policy json.RawMessage `json:"policy"`
		}
		_ = json.Unmarshal(stored, &req)
		return fmt.Sprintf(`{%q:{"version":1,"modified_date":"2025-06-10T08:00:00.000Z","policy":%s,"in_use_by":{"indices":[],"data_streams":[],"composable_templates":[]}}}`, name, req.Policy)
	case strings.HasPrefix(p, "/_component_template/"):
		return fmt.Sprintf(`{"component_templates":[{"name":%q,"component_template":%s}]}`, name, stored)
	default:
		return fmt.Sprintf(`{"index_templates":[{"name":%q,"index_template":%s}]}`, name, stored)
	}
}
