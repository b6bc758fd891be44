package ui

import (
	"testing"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/ui/auth"
)

// testAuth returns the authenticator of cfg.Auth for a test server; es is
// the Elasticsearch that verifies sign-ins (elasticsearch mode).
func testAuth(t testing.TB, cfg Config, es auth.ESEndpoint) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(cfg.Auth, auth.Options{Listen: cfg.Listen, BasePath: cfg.BasePath, RBAC: cfg.RBAC, Elasticsearch: es}, pipeline.NopTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	return a
}
