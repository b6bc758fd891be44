package retention

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/ilm/getlifecycle"
	"github.com/elastic/go-elasticsearch/v8/typedapi/ilm/getstatus"

	"github.com/flowship/flowship/pipeline"
)

// recordedResponse is one Elasticsearch answer kept in testdata/recorded
// (see its README for where each came from).
type recordedResponse struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

func readRecorded(t *testing.T, file string) recordedResponse {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "recorded", file))
	if err != nil {
		t.Fatal(err)
	}
	var r recordedResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return r
}

// replayES is an httptest server that answers each "METHOD path" with a
// recorded response and records what it was sent.
type replayES struct {
	mu       sync.Mutex
	routes   map[string]recordedResponse
	requests []string
	bodies   map[string][]byte // "METHOD path" -> body sent
}

func newReplayES(t *testing.T, files ...string) (*replayES, *elasticsearch.Client) {
	t.Helper()
	r := &replayES{routes: map[string]recordedResponse{}, bodies: map[string][]byte{}}
	for _, f := range files {
		rec := readRecorded(t, f)
		r.routes[rec.Method+" "+rec.Path] = rec
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	return r, c
}

func (r *replayES) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := req.Method + " " + req.URL.Path
	body, _ := io.ReadAll(req.Body)
	r.requests = append(r.requests, key)
	r.bodies[key] = body
	rec, ok := r.routes[key]
	if !ok {
		http.Error(w, "replayES: no recorded response for "+key, http.StatusTeapot)
		return
	}
	w.Header().Set("X-Elastic-Product", "Elasticsearch") // every real answer carries it
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rec.Status)
	_, _ = w.Write(rec.Body)
}

func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return out.String()
}

// On a cluster with ILM and nothing yet stored, Apply sends the golden
// policy body and the template bodies to the right paths.
func TestReplayILMClusterFromScratch(t *testing.T) {
	es, client := newReplayES(t,
		"docs/ilm_get_status.json", "docs/ilm_get_lifecycle_missing.json", "docs/ilm_put_lifecycle.json",
		"es-integ/component_template_mappings_missing.json", "es-integ/component_template_mappings_put.json",
		"es-integ/component_template_settings_missing.json", "es-integ/component_template_settings_put.json",
		"es-integ/index_template_index_missing.json", "es-integ/index_template_index_put.json")
	rep, err := Apply(context.Background(), client, testConfig(), map[pipeline.Kind]KindSpec{pipeline.KindFlow: testSpecs()[pipeline.KindFlow]}, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ILM || !strings.Contains(rep.ILMDetail, "RUNNING") || rep.Changed() != 4 {
		t.Errorf("report:\n%s\nwant ILM RUNNING and 4 objects created", rep)
	}
	want := []string{
		"GET /_ilm/status",
		"GET /_ilm/policy/flowship-flows-prod", "PUT /_ilm/policy/flowship-flows-prod",
		"GET /_component_template/flowship-flows-prod-mappings", "PUT /_component_template/flowship-flows-prod-mappings",
		"GET /_component_template/flowship-flows-prod-settings", "PUT /_component_template/flowship-flows-prod-settings",
		"GET /_index_template/flowship-flows-prod", "PUT /_index_template/flowship-flows-prod",
	}
	if !slices.Equal(es.requests, want) {
		t.Errorf("requests:\n%q\nwant\n%q", es.requests, want)
	}
	policy, err := os.ReadFile("testdata/golden/ilm_policy_flows.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := es.bodies["PUT /_ilm/policy/flowship-flows-prod"]; compactJSON(t, got) != compactJSON(t, policy) {
		t.Errorf("policy body sent:\n%s\nwant the golden:\n%s", got, policy)
	}
	settings := es.bodies["PUT /_component_template/flowship-flows-prod-settings"]
	if !bytes.Contains(settings, []byte(`"lifecycle":{"name":"flowship-flows-prod","parse_origination_date":true}`)) {
		t.Errorf("settings body %s lacks the lifecycle settings", settings)
	}
}

// On a cluster with ILM where flowship's policy is stored (as Elasticsearch
// echoes it back, with its defaults filled in), the policy is unchanged;
// the templates recorded from a cluster without ILM are unchanged too,
// except the settings component, which now gains the lifecycle settings.
func TestReplayILMClusterUpToDate(t *testing.T) {
	es, client := newReplayES(t,
		"docs/ilm_get_status.json", "docs/ilm_get_lifecycle_flowship.json",
		"es-integ/component_template_mappings_get.json",
		"es-integ/component_template_settings_get.json", "es-integ/component_template_settings_put.json",
		"es-integ/index_template_index_get.json")
	rep, err := Apply(context.Background(), client, testConfig(), map[pipeline.Kind]KindSpec{pipeline.KindFlow: testSpecs()[pipeline.KindFlow]}, ApplyOptions{})
	if err != nil {
		t.Fatalf("%v\n(if the policy or templates changed on purpose, re-record: see testdata/recorded/README.md)", err)
	}
	var got []string
	for _, o := range rep.Objects {
		got = append(got, string(o.Action)+" "+o.Name)
	}
	want := []string{"unchanged flowship-flows-prod", "unchanged flowship-flows-prod-mappings", "updated flowship-flows-prod-settings", "unchanged flowship-flows-prod"}
	if !slices.Equal(got, want) {
		t.Errorf("actions %q, want %q (re-record testdata/recorded if the policy or templates changed on purpose)", got, want)
	}
	if slices.Contains(es.requests, "PUT /_ilm/policy/flowship-flows-prod") {
		t.Error("an unchanged policy was rewritten")
	}
}

// On the real integ-test node (no ILM), everything recorded after a first
// Apply is recognised as unchanged: no writes at all.
func TestReplayNoILMClusterUpToDate(t *testing.T) {
	es, client := newReplayES(t,
		"es-integ/ilm_status.json",
		"es-integ/component_template_mappings_get.json",
		"es-integ/component_template_settings_get.json",
		"es-integ/index_template_index_get.json")
	rep, err := Apply(context.Background(), client, testConfig(), map[pipeline.Kind]KindSpec{pipeline.KindFlow: testSpecs()[pipeline.KindFlow]}, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ILM || rep.Changed() != 0 {
		t.Errorf("report:\n%s\nwant no ILM and no changes", rep)
	}
	for _, r := range es.requests {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("wrote %s", r)
		}
	}
}

func TestRecordedILMResponsesDecodeWithTypedAPI(t *testing.T) {
	for _, f := range []string{"docs/ilm_get_lifecycle_docs.json", "docs/ilm_get_lifecycle_flowship.json"} {
		t.Run(f, func(t *testing.T) {
			rec := readRecorded(t, f)
			res := getlifecycle.NewResponse()
			if err := json.Unmarshal(rec.Body, &res); err != nil {
				t.Fatalf("getlifecycle.Response cannot decode the recorded answer: %v", err)
			}
			if len(res) != 1 {
				t.Fatalf("decoded %d policies, want 1", len(res))
			}
			for name, lc := range res {
				if lc.Version != 1 || lc.Policy.Phases.Delete == nil || lc.Policy.Phases.Delete.Actions.Delete == nil {
					t.Errorf("%s: version %d, delete phase %+v; want version 1 and a delete action", name, lc.Version, lc.Policy.Phases.Delete)
				}
			}
		})
	}
	st := getstatus.NewResponse()
	if err := json.Unmarshal(readRecorded(t, "docs/ilm_get_status.json").Body, st); err != nil || st.OperationMode.String() != "RUNNING" {
		t.Errorf("getstatus.Response = %+v, %v; want RUNNING", st, err)
	}
}

func TestRecordedErrorsReadWell(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"es-integ/component_template_mappings_missing.json", "resource_not_found_exception: component template matching [flowship-flows-prod-mappings] not found"},
		{"es-integ/delete_index_missing.json", "index_not_found_exception: no such index [flowship-flows-prod-2025.06.01]"},
		{"es-integ/ilm_get_policy.json", "no handler found for uri [/_ilm/policy/flowship-flows-prod] and method [GET]"},
		{"docs/ilm_get_lifecycle_missing.json", "resource_not_found_exception: Lifecycle policy not found: flowship-flows-prod"},
	}
	for _, tt := range tests {
		rec := readRecorded(t, tt.file)
		r := esResponse{status: rec.Status, body: rec.Body}
		if got := r.reason(); got != tt.want {
			t.Errorf("%s: reason() = %q, want %q", tt.file, got, tt.want)
		}
	}
	for file, want := range map[string]bool{"es-integ/ilm_status.json": true, "es-integ/ilm_get_policy.json": true, "es-integ/component_template_mappings_missing.json": false} {
		rec := readRecorded(t, file)
		if got := (esResponse{status: rec.Status, body: rec.Body}).noHandler(); got != want {
			t.Errorf("%s: noHandler() = %v, want %v", file, got, want)
		}
	}
}
