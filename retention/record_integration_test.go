//go:build integration && record

// Recording tools, not tests: they re-record the real server's answers that
// the unit tests replay. Run with: go test -tags "integration record" -run Record ... -args -record|-update

package retention

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

var record = flag.Bool("record", false, "re-record testdata/recorded/es-integ/ from the running Elasticsearch")

// TestIntegrationRecordResponses re-records the real server's answers that
// the unit tests replay (recorded_test.go). It only runs with -record, and
// it uses cluster "prod" with testConfig and testSpecs so the recorded
// _meta hashes match what the unit tests build.
func TestIntegrationRecordResponses(t *testing.T) {
	if !*record {
		t.Skip("run with -record to re-record testdata/recorded/es-integ")
	}
	es := testenv.ESClient(t)
	ctx := context.Background()
	cfg := testConfig()
	base := cfg.templateName(pipeline.KindFlow)
	del := func() {
		_, _ = send(ctx, es, http.MethodDelete, "/_index_template/"+base, "", nil)
		for _, s := range []string{"-mappings", "-settings"} {
			_, _ = send(ctx, es, http.MethodDelete, "/_component_template/"+base+s, "", nil)
		}
	}
	del()
	t.Cleanup(del)

	save := func(file, method, path, query string, body []byte) {
		t.Helper()
		r, err := send(ctx, es, method, path, query, body)
		if err != nil {
			t.Fatal(err)
		}
		full := path
		if query != "" {
			full += "?" + query
		}
		out := recordedResponse{Method: method, Path: full, Status: r.status, Body: bytes.TrimSpace(r.body)}
		writeRecorded(t, filepath.Join("testdata", "recorded", "es-integ", file), out)
	}
	save("ilm_status.json", http.MethodGet, "/_ilm/status", "", nil)
	save("ilm_get_policy.json", http.MethodGet, "/_ilm/policy/"+cfg.policyName(pipeline.KindFlow), "", nil)
	objs, err := buildObjects(cfg, pipeline.KindFlow, testSpecs()[pipeline.KindFlow], false)
	if err != nil {
		t.Fatal(err)
	}
	names := map[ObjectType]string{TypeComponentTemplate: "component_template", TypeIndexTemplate: "index_template"}
	for i, o := range objs {
		stem := names[o.typ] + "_" + [...]string{"mappings", "settings", "index"}[i]
		save(stem+"_missing.json", http.MethodGet, o.path, "", nil)
		save(stem+"_put.json", http.MethodPut, o.path, "", o.body)
		save(stem+"_get.json", http.MethodGet, o.path, "", nil)
	}
	save("cat_indices_none.json", http.MethodGet, "/_cat/indices/"+cfg.Naming.Pattern(pipeline.KindFlow), "format=json&h=index&expand_wildcards=open,closed", nil)
	save("delete_index_missing.json", http.MethodDelete, "/"+cfg.Naming.Index(pipeline.KindFlow, day("2025-06-01")), "", nil)
	if _, err := os.Stat(filepath.Join("testdata", "recorded", "es-integ", "ilm_status.json")); err != nil {
		t.Fatal(err)
	}
}

func writeRecorded(t *testing.T, path string, r recordedResponse) {
	t.Helper()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
