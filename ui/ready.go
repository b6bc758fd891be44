package ui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	goes "github.com/elastic/go-elasticsearch/v8"

	"github.com/flowship/flowship/ui/auth"
)

// esReady is the /readyz check of the Elasticsearch cluster the UI
// queries and, in elasticsearch mode, verifies sign-ins against. client
// goes over the UI's TLS transport with the credentials of
// index.elasticsearch (if any), never a signed-in user's.
//
//   - with credentials: GET _security/_authenticate (every user may call
//     it, whatever its roles): 200 is ready; 401 is "credentials rejected".
//   - without credentials: GET / . In elasticsearch mode a 401 that asks
//     for authentication (WWW-Authenticate) is ready: it is how a cluster
//     with security on answers an anonymous request, and the same cluster
//     verifies the people who sign in. In the other modes the UI queries
//     with no credentials, so a 401 means it cannot query: not ready.
//   - any other non-2xx answer (5xx, 403…) or no answer: not ready, with
//     the status or the error and the URLs.
type esReady struct {
	client   *goes.Client
	mode     string
	hasCreds bool
	urls     []string
}

// Check runs the check once; ctx bounds it.
func (e esReady) Check(ctx context.Context) error {
	where := strings.Join(e.urls, ",")
	path := "/"
	if e.hasCreds {
		path = "/_security/_authenticate"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	res, err := e.client.Perform(req)
	if err != nil {
		return fmt.Errorf("elasticsearch %s unreachable: %w", where, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	switch {
	case res.StatusCode/100 == 2:
		return nil
	case res.StatusCode == http.StatusUnauthorized && !e.hasCreds && e.mode == auth.ModeElasticsearch && res.Header.Get("WWW-Authenticate") != "":
		return nil
	case res.StatusCode == http.StatusUnauthorized && e.hasCreds:
		return fmt.Errorf("elasticsearch %s: GET %s answered 401: the credentials of index.elasticsearch are rejected", where, path)
	case res.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("elasticsearch %s: GET %s answered 401: it needs credentials; set index.elasticsearch username/password_file or api_key_file", where, path)
	}
	return fmt.Errorf("elasticsearch %s: GET %s answered %d", where, path, res.StatusCode)
}

// ReadyCheck is the check `flowship ui` adds to its /readyz
// (telemetry.Provider.AddReadyCheck, cached by the caller).
func (s *Server) ReadyCheck() func(context.Context) error {
	if s.ready == nil {
		return func(context.Context) error { return nil }
	}
	return s.ready
}
