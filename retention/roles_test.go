package retention

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// rolesConfig is cluster "prod", prefix "flowship" (testConfig's naming).
func rolesConfig(t *testing.T) Config {
	t.Helper()
	cfg := testConfig()
	if cfg.Naming.Cluster != "prod" || cfg.Naming.Prefix != "flowship" {
		t.Fatalf("testConfig naming changed: %+v", cfg.Naming)
	}
	return cfg
}

// TestRoles compares with roles written by hand from the read aliases and
// index patterns of naming.go's doc (flowship-<kind>-<cluster>[-date]).
func TestRoles(t *testing.T) {
	got, err := json.Marshal(rolesConfig(t).Roles())
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, r := range rolesConfig(t).Roles() {
		names = append(names, r.Name)
	}
	if strings.Join(names, " ") != "flowship-prod-reader-flows flowship-prod-reader-l7 flowship-prod-reader-dns flowship-prod-writer flowship-prod-setup" {
		t.Errorf("role names %v", names)
	}
	meta := `"metadata":{"flowship":{"cluster":"prod","prefix":"flowship"}}`
	want := `[{"indices":[{"names":["flowship-flows-prod"],"privileges":["read","view_index_metadata"]}],` + meta + `},` +
		`{"indices":[{"names":["flowship-l7-prod"],"privileges":["read","view_index_metadata"]}],` + meta + `},` +
		`{"indices":[{"names":["flowship-dns-prod"],"privileges":["read","view_index_metadata"]}],` + meta + `},` +
		`{"cluster":["monitor","read_ilm"],"indices":[{"names":["flowship-flows-prod-*","flowship-l7-prod-*","flowship-dns-prod-*"],` +
		`"privileges":["create_doc","auto_configure","view_index_metadata","monitor","delete_index"]}],` + meta + `},` +
		`{"cluster":["manage_index_templates","manage_ilm","monitor"],"indices":[{"names":["flowship-flows-prod-*","flowship-l7-prod-*","flowship-dns-prod-*",` +
		`"flowship-flows-prod","flowship-l7-prod","flowship-dns-prod"],"privileges":["manage","view_index_metadata"]}],` + meta + `}]`
	if string(got) != want {
		t.Errorf("roles\n got %s\nwant %s", got, want)
	}
	for _, r := range rolesConfig(t).Roles() {
		for _, ip := range r.Indices {
			for _, p := range ip.Privileges {
				// Basic-licence index privileges only; no DLS/FLS fields exist on IndexPriv.
				switch p {
				case "read", "view_index_metadata", "create_doc", "auto_configure", "monitor", "delete_index", "manage":
				default:
					t.Errorf("role %s: unexpected privilege %q", r.Name, p)
				}
			}
		}
	}
}

func TestRolesYAML(t *testing.T) {
	var buf bytes.Buffer
	roles := rolesConfig(t).Roles()
	if err := RolesYAML(&buf, roles); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "# Elasticsearch roles of flowship") || strings.Contains(buf.String(), "metadata:") {
		t.Errorf("roles.yml header or metadata:\n%s", buf.String())
	}
	var back map[string]Role
	if err := yaml.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != len(roles) {
		t.Fatalf("%d roles read back, want %d:\n%s", len(back), len(roles), buf.String())
	}
	for _, r := range roles {
		b := back[r.Name]
		if strings.Join(b.Cluster, ",") != strings.Join(r.Cluster, ",") || len(b.Indices) != 1 ||
			strings.Join(b.Indices[0].Names, ",") != strings.Join(r.Indices[0].Names, ",") ||
			strings.Join(b.Indices[0].Privileges, ",") != strings.Join(r.Indices[0].Privileges, ",") {
			t.Errorf("role %s read back as %+v", r.Name, b)
		}
	}
}

func TestReplayRolesCreated(t *testing.T) {
	es, client := newReplayES(t, "docs/role_put_created_reader-flows.json", "docs/role_put_created_reader-l7.json",
		"docs/role_put_created_reader-dns.json", "docs/role_put_created_writer.json", "docs/role_put_created_setup.json")
	roles := rolesConfig(t).Roles()
	res, err := ApplyRoles(context.Background(), client, roles, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 || res[0].Action != Created || res[4].Name != "flowship-prod-setup" {
		t.Errorf("results %+v", res)
	}
	body := es.bodies["PUT /_security/role/flowship-prod-writer"]
	want, _ := json.Marshal(roles[3])
	if compactJSON(t, body) != string(want) {
		t.Errorf("writer role body %s, want %s", body, want)
	}
}

func TestReplayRolesUpdatedAndErrors(t *testing.T) {
	roles := rolesConfig(t).Roles()[:1]
	_, client := newReplayES(t, "docs/role_put_updated.json")
	res, err := ApplyRoles(context.Background(), client, roles, false, nil)
	if err != nil || res[0].Action != Updated {
		t.Errorf("existing role: %+v %v", res, err)
	}
	for file, want := range map[string]string{
		"es-integ/role_put_native_realm_broken.json": "Unknown filter type [pattern_capture]",
		"es-integ/role_put_forbidden.json":           "manage_security",
	} {
		_, client := newReplayES(t, file)
		_, err := ApplyRoles(context.Background(), client, roles, false, nil)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "flowship-prod-reader-flows") ||
			!strings.Contains(err.Error(), "--roles-file") {
			t.Errorf("%s: error %v, want the role, %q and the --roles-file hint", file, err, want)
		}
	}
}

func TestRolesDryRun(t *testing.T) {
	var out bytes.Buffer
	res, err := ApplyRoles(context.Background(), nil, rolesConfig(t).Roles(), true, &out)
	if err != nil || len(res) != 5 {
		t.Fatalf("%v %v", res, err)
	}
	if n := strings.Count(out.String(), "PUT /_security/role/flowship-prod-"); n != 5 {
		t.Errorf("dry run printed %d requests:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "PUT /_security/role/flowship-prod-reader-l7\n{\n  \"indices\": [") {
		t.Errorf("dry run format:\n%s", out.String())
	}
}
