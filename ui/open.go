package ui

import (
	"net/http"
	"time"

	"github.com/flowship/flowship/pipeline"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/ui/auth"
)

// Open builds the Server of cfg over the Elasticsearch cluster of esCfg:
// the authenticator of cfg.Auth (docs/security.md), which verifies
// sign-ins over esCfg's TLS transport without credentials, and the query
// client over the same transport wrapped by Authenticator.Transport, so
// that in elasticsearch mode every query runs as the signed-in user and a
// query without one is refused.
func Open(cfg Config, esCfg esink.Config, tel pipeline.Telemetry) (*Server, error) {
	tr, err := esink.HTTPTransport(esCfg)
	if err != nil {
		return nil, err
	}
	var url string
	if len(esCfg.URLs) > 0 {
		url = esCfg.URLs[0]
	}
	a, err := auth.New(cfg.Auth, auth.Options{Listen: cfg.Listen, BasePath: cfg.BasePath, RBAC: cfg.RBAC,
		Elasticsearch: auth.ESEndpoint{URL: url, Client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}}, tel)
	if err != nil {
		return nil, err
	}
	es, err := esink.NewClientWithTransport(esCfg, a.Transport(tr))
	if err != nil {
		return nil, err
	}
	// The readiness probe goes over the plain transport with the
	// configured credentials, never a user's (a.Transport would refuse it).
	probe, err := esink.NewClientWithTransport(esCfg, tr)
	if err != nil {
		return nil, err
	}
	s := New(cfg, es, a, esCfg.Naming, tel.Logger)
	s.ready = esReady{client: probe, mode: cfg.Auth.Mode, hasCreds: esCfg.Username != "" || esCfg.APIKeyFile != "", urls: esCfg.URLs}.Check
	return s, nil
}
