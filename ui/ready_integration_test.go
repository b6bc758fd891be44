//go:build integration

package ui

import (
	"net"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/ui/auth"
)

// TestReadyCheckRealES: the /readyz check that Open builds, against the
// real Elasticsearch (security on) and a port where nothing listens.
func TestReadyCheckRealES(t *testing.T) {
	es := testenv.Elasticsearch(t)
	t.Setenv("FLOWSHIP_TEST_UI_ES_PASSWORD", es.Password)
	t.Setenv("FLOWSHIP_TEST_UI_ES_WRONG", "not-the-password")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	cases := []struct {
		name, mode, url, user, pwEnv string
		wantErr                      string // "" is ready
	}{
		{"elasticsearch mode, service credentials", auth.ModeElasticsearch, es.URL, es.Username, "FLOWSHIP_TEST_UI_ES_PASSWORD", ""},
		{"elasticsearch mode, no credentials (the cluster asks for them)", auth.ModeElasticsearch, es.URL, "", "", ""},
		{"elasticsearch mode, wrong password", auth.ModeElasticsearch, es.URL, es.Username, "FLOWSHIP_TEST_UI_ES_WRONG", "401: the credentials of index.elasticsearch are rejected"},
		{"none mode, no credentials", auth.ModeNone, es.URL, "", "", "401: it needs credentials"},
		{"none mode, service credentials", auth.ModeNone, es.URL, es.Username, "FLOWSHIP_TEST_UI_ES_PASSWORD", ""},
		{"elasticsearch unreachable", auth.ModeElasticsearch, closed, es.Username, "FLOWSHIP_TEST_UI_ES_PASSWORD", "unreachable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Auth.Mode = c.mode
			if c.mode == auth.ModeElasticsearch {
				cfg.RBAC = auth.RBAC{"flowship_ui_all": {All: true}}
			}
			esCfg := esink.DefaultConfig()
			esCfg.URLs, esCfg.Username, esCfg.PasswordEnv = []string{c.url}, c.user, c.pwEnv
			srv, err := Open(cfg, esCfg, pipeline.NopTelemetry())
			if err != nil {
				t.Fatal(err)
			}
			err = srv.ReadyCheck()(t.Context())
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("not ready: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("got %v, want an error with %q", err, c.wantErr)
			}
		})
	}
}
