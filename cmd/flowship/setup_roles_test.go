package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const rolesTestConfig = "cluster: prod-eu-1\nindex:\n  elasticsearch:\n    urls: [http://127.0.0.1:1]\n"

func TestSetupRolesDryRunAndFile(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "flowship.yaml")
	if err := os.WriteFile(cfgPath, []byte(rolesTestConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	// --dry-run sends nothing (the URL above answers nothing) and prints the five PUTs.
	if code := run(context.Background(), []string{"setup", "--config", cfgPath, "--roles", "--dry-run"}, &out, &errOut); code != 0 {
		t.Fatalf("setup --roles --dry-run: exit %d: %s", code, errOut.String())
	}
	for _, r := range []string{"reader-flows", "reader-l7", "reader-dns", "writer", "setup"} {
		if !strings.Contains(out.String(), "PUT /_security/role/flowship-prod-eu-1-"+r+"\n") {
			t.Errorf("dry run lacks role %s:\n%s", r, out.String())
		}
	}
	if !strings.Contains(out.String(), `"flowship-flows-prod-eu-1"`) {
		t.Errorf("reader not on the read alias:\n%s", out.String())
	}

	out.Reset()
	file := filepath.Join(dir, "roles.yml")
	if code := run(context.Background(), []string{"setup", "--config", cfgPath, "--roles-file", file}, &out, &errOut); code != 0 {
		t.Fatalf("setup --roles-file: exit %d: %s", code, errOut.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var roles map[string]struct {
		Indices []struct{ Names, Privileges []string }
	}
	if err := yaml.Unmarshal(b, &roles); err != nil {
		t.Fatal(err)
	}
	if len(roles) != 5 || roles["flowship-prod-eu-1-reader-dns"].Indices[0].Names[0] != "flowship-dns-prod-eu-1" {
		t.Errorf("roles.yml:\n%s", b)
	}
	if !strings.Contains(out.String(), "5 roles written to "+file) {
		t.Errorf("output %q", out.String())
	}
}
