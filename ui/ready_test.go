package ui

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	goes "github.com/elastic/go-elasticsearch/v8"

	"github.com/flowship/flowship/ui/auth"
)

// TestESReady: the /readyz check of the Elasticsearch cluster, against a
// stub that answers each case's status (the real cluster's answers are in
// ready_integration_test.go).
func TestESReady(t *testing.T) {
	cases := []struct {
		name     string
		mode     string
		creds    bool
		status   int
		wwwAuth  bool
		wantPath string
		wantErr  string // "" is ready
	}{
		{"credentials accepted", auth.ModeKubernetes, true, 200, false, "/_security/_authenticate", ""},
		{"credentials rejected", auth.ModeElasticsearch, true, 401, true, "/_security/_authenticate", "answered 401: the credentials of index.elasticsearch are rejected"},
		{"es mode, anonymous 401 asking for credentials", auth.ModeElasticsearch, false, 401, true, "/", ""},
		{"es mode, 401 without WWW-Authenticate", auth.ModeElasticsearch, false, 401, false, "/", "answered 401"},
		{"none mode, anonymous 401", auth.ModeNone, false, 401, true, "/", "it needs credentials"},
		{"none mode, no security", auth.ModeNone, false, 200, false, "/", ""},
		{"500", auth.ModeElasticsearch, true, 500, false, "/_security/_authenticate", "answered 500"},
		{"503", auth.ModeKubernetes, false, 503, false, "/", "answered 503"},
		{"403", auth.ModeKubernetes, true, 403, false, "/_security/_authenticate", "answered 403"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var gotPath, gotAuth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotPath, gotAuth = r.URL.Path, r.Header.Get("Authorization")
				w.Header().Set("X-Elastic-Product", "Elasticsearch")
				if c.wwwAuth {
					w.Header().Set("WWW-Authenticate", `Basic realm="security" charset="UTF-8"`)
				}
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(`{}`))
			}))
			defer srv.Close()
			gc := goes.Config{Addresses: []string{srv.URL}, DisableRetry: true}
			if c.creds {
				gc.Username, gc.Password = "flowship-ui", "pw"
			}
			client, err := goes.NewClient(gc)
			if err != nil {
				t.Fatal(err)
			}
			err = esReady{client: client, mode: c.mode, hasCreds: c.creds, urls: []string{srv.URL}}.Check(t.Context())
			if gotPath != c.wantPath || (gotAuth != "") != c.creds {
				t.Errorf("asked %s (Authorization %q), want %s with credentials %v", gotPath, gotAuth, c.wantPath, c.creds)
			}
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("not ready: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), srv.URL)):
				t.Errorf("got %v, want an error naming %s and %q", err, srv.URL, c.wantErr)
			}
		})
	}

	// Nothing listens: unreachable.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	client, err := goes.NewClient(goes.Config{Addresses: []string{url}, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := (esReady{client: client, mode: auth.ModeElasticsearch, urls: []string{url}}).Check(t.Context()); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("closed port: %v, want unreachable", err)
	}
}
