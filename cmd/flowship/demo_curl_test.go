package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	esink "github.com/flowship/flowship/sinks/elasticsearch"
)

// TestSearchCommandWorksAsPrinted runs the demo's closing curl command, as
// printed, in a shell that has none of the demo's variables, against a
// server that checks the credentials and the path.
func TestSearchCommandWorksAsPrinted(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	const user, password = "demo'user", "pa$$ 'word\"$(x)"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != password {
			http.Error(w, "bad credentials "+u+":"+p, http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/flowship-flows-demo-*/_search" || r.URL.Query().Get("q") != "action:deny" {
			http.Error(w, "bad request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"hits":"ok"}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	pw := filepath.Join(dir, "es password")
	if err := os.WriteFile(pw, []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	es := esink.DefaultConfig()
	es.URLs = []string{srv.URL + "/"}
	es.Naming.Cluster = "demo"

	for _, tc := range []struct {
		name       string
		user, file string
		want       string
	}{
		{"with credentials", user, pw, `{"hits":"ok"}`},
		{"without credentials", "", "", "bad credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es.Username, es.PasswordFile = tc.user, tc.file
			line := searchCommand(es)
			if strings.Contains(line, "FLOWSHIP_") {
				t.Fatalf("the command needs a variable the user's shell lacks: %s", line)
			}
			cmd := exec.Command("sh", "-c", line+" -sS")
			cmd.Env = []string{"PATH=" + filepath.Dir(curl) + ":/usr/bin:/bin"}
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("%s\n-> %v: %s\nwant %q", line, err, out, tc.want)
			}
		})
	}
}
