//go:build integration

package retention

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

const rolesBlockStart, rolesBlockEnd = "# ---- begin: roles of retention's integration test ----\n", "# ---- end: roles of retention's integration test ----\n"

// TestIntegrationRolesFileRealm loads the roles.yml that `setup
// --roles-file` writes for cluster "rolecheck" into the real node's file
// realm (deploy/local created the users flowship-rolecheck-{reader,
// writer,setup} holding those role names) and checks that each role can
// do its job and no more: setup applies the templates, the writer sees
// them and indexes and deletes a daily index, the reader searches the
// read alias only.
func TestIntegrationRolesFileRealm(t *testing.T) {
	es := testenv.Elasticsearch(t)
	confDir, pw := os.Getenv("FLOWSHIP_ES_CONFIG_DIR"), os.Getenv("FLOWSHIP_ES_PASSWORD_ROLECHECK")
	if es.Username == "" {
		t.Skip("Elasticsearch runs without security (FLOWSHIP_ES_SECURITY=off): no roles to check")
	}
	if confDir == "" || pw == "" {
		t.Fatalf("FLOWSHIP_ES_CONFIG_DIR / FLOWSHIP_ES_PASSWORD_ROLECHECK unset or security off: run `%s`", testenv.StartHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := testConfig()
	cfg.Naming.Cluster = "rolecheck"
	admin := testenv.ESClient(t)
	client := func(user string) *elasticsearch.Client {
		c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{es.URL}, Username: "flowship-rolecheck-" + user, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	setup, writer, reader := client("setup"), client("writer"), client("reader")

	loadRoles(t, filepath.Join(confDir, "roles.yml"), cfg.Roles())
	cleanup := func() {
		for _, k := range pipeline.Kinds {
			_, _ = send(context.Background(), admin, http.MethodDelete, "/"+cfg.Naming.Pattern(k), "", nil)
			base := cfg.templateName(k)
			_, _ = send(context.Background(), admin, http.MethodDelete, "/_index_template/"+base, "", nil)
			for _, s := range []string{"-mappings", "-settings"} {
				_, _ = send(context.Background(), admin, http.MethodDelete, "/_component_template/"+base+s, "", nil)
			}
		}
	}
	cleanup()
	t.Cleanup(cleanup)
	waitPrivilege(ctx, t, setup, `{"cluster":["manage_index_templates"]}`)
	waitPrivilege(ctx, t, reader, fmt.Sprintf(`{"index":[{"names":[%q],"privileges":["read"]}]}`, cfg.Naming.ReadAlias(pipeline.KindFlow)))

	if _, err := Apply(ctx, setup, cfg, testSpecs(), ApplyOptions{Out: io.Discard}); err != nil {
		t.Fatalf("setup role cannot apply the templates: %v", err)
	}
	if missing, err := MissingTemplates(ctx, writer, cfg); err != nil || len(missing) > 0 {
		t.Fatalf("writer role checking templates: %v %v", missing, err)
	}
	index := cfg.Naming.Index(pipeline.KindFlow, time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC))
	bulk := fmt.Sprintf("{\"create\":{\"_index\":%q,\"_id\":\"a\"}}\n{\"start_time\":1764720000}\n", index)
	expect(ctx, t, writer, http.MethodPost, "/_bulk?refresh=true", bulk, 200, `"status":201`)

	alias := cfg.Naming.ReadAlias(pipeline.KindFlow)
	expect(ctx, t, reader, http.MethodGet, "/"+alias+"/_search", `{"query":{"match_all":{}}}`, 200, `"value":1`)
	expect(ctx, t, reader, http.MethodGet, "/"+index+"/_search", "", 403, "unauthorized")
	expect(ctx, t, reader, http.MethodPut, "/"+alias+"/_doc/b", `{"start_time":1}`, 403, "unauthorized")
	expect(ctx, t, reader, http.MethodGet, "/"+cfg.Naming.ReadAlias(pipeline.KindL7)+"/_search", "", 403, "unauthorized")
	expect(ctx, t, writer, http.MethodGet, "/"+alias+"/_search", "", 403, "unauthorized")
	expect(ctx, t, writer, http.MethodPut, "/_index_template/x-not-flowship", `{"index_patterns":["x-*"]}`, 403, "unauthorized")
	expect(ctx, t, setup, http.MethodPost, "/_bulk", bulk, 403, "unauthorized") // setup manages indices; it writes no documents
	expect(ctx, t, writer, http.MethodDelete, "/"+index, "", 200, `"acknowledged":true`)
}

// loadRoles writes roles into the node's roles.yml (between markers, so a
// rerun replaces its own block) and restores the file afterwards.
func loadRoles(t *testing.T, path string, roles []Role) {
	t.Helper()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the node's roles.yml: %v", err)
	}
	kept := string(orig)
	if i := strings.Index(kept, rolesBlockStart); i >= 0 {
		if j := strings.Index(kept, rolesBlockEnd); j > i {
			kept = kept[:i] + kept[j+len(rolesBlockEnd):]
		}
	}
	var buf bytes.Buffer
	if err := RolesYAML(&buf, roles); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(kept+"\n"+rolesBlockStart+buf.String()+rolesBlockEnd), 0); err != nil {
		t.Fatalf("writing the node's roles.yml: %v", err)
	}
	t.Cleanup(func() { _ = os.WriteFile(path, []byte(kept), 0) })
}

// waitPrivilege polls _has_privileges as c until the node's file realm
// has reloaded roles.yml (it checks the file every 5 s).
func waitPrivilege(ctx context.Context, t *testing.T, c *elasticsearch.Client, body string) {
	t.Helper()
	for {
		r, err := send(ctx, c, http.MethodPost, "/_security/user/_has_privileges", "", []byte(body))
		if err == nil && r.status == 200 {
			var hp struct {
				All bool `json:"has_all_requested"`
			}
			if json.Unmarshal(r.body, &hp) == nil && hp.All {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the node did not load the roles (%s): %v", body, err)
		case <-time.After(500 * time.Millisecond): // polling the node's own 5 s reload, not asserting an absence
		}
	}
}

func expect(ctx context.Context, t *testing.T, c *elasticsearch.Client, method, path, body string, status int, contains string) {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	p, q, _ := strings.Cut(path, "?")
	r, err := send(ctx, c, method, p, q, b)
	if err != nil {
		t.Fatal(err)
	}
	if r.status != status || !strings.Contains(string(r.body), contains) {
		t.Errorf("%s %s: %d %.300s, want %d containing %q", method, path, r.status, r.body, status, contains)
	}
}
