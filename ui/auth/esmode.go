package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// ESEndpoint is the Elasticsearch cluster that verifies users in
// elasticsearch mode.
type ESEndpoint struct {
	// URL is the cluster's base URL (the first of index.elasticsearch.addresses).
	URL string
	// Client sends the _authenticate requests; nil is http.DefaultClient.
	// It must not add credentials of its own.
	Client *http.Client
}

// esVerifier signs people in with their Elasticsearch user: it asks
// GET _security/_authenticate with their password and maps their roles
// through ui.rbac.
type esVerifier struct {
	es   ESEndpoint
	rbac RBAC
}

// esAuthenticate is the part of the _security/_authenticate answer used.
type esAuthenticate struct {
	Username string   `json:"username"`
	Roles    []string `json:"roles"`
	Enabled  *bool    `json:"enabled"`
}

func (v *esVerifier) signIn(ctx context.Context, c credentials) (*Principal, string, error) {
	if c.Username == "" || c.Password == "" {
		return nil, "", fmt.Errorf("%w: user name or password empty", ErrUnauthenticated)
	}
	header := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(v.es.URL, "/")+"/_security/_authenticate", nil)
	if err != nil {
		return nil, "", errUnavailable{err}
	}
	req.Header.Set("Authorization", header)
	client := v.es.Client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, "", errUnavailable{err}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, "", errUnavailable{err}
	}
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		return nil, "", fmt.Errorf("%w: elasticsearch answered 401", ErrUnauthenticated)
	case res.StatusCode != http.StatusOK:
		return nil, "", errUnavailable{fmt.Errorf("_security/_authenticate answered %d", res.StatusCode)}
	}
	var a esAuthenticate
	if err := json.Unmarshal(body, &a); err != nil || a.Username == "" {
		return nil, "", errUnavailable{errors.New("_security/_authenticate: unexpected answer")}
	}
	if a.Enabled != nil && !*a.Enabled {
		return nil, "", fmt.Errorf("%w: user disabled", ErrUnauthenticated)
	}
	roles := append([]string(nil), a.Roles...)
	sort.Strings(roles)
	return &Principal{Name: a.Username, Mode: ModeElasticsearch, Roles: roles, Access: v.rbac.AccessOf(roles),
		esAuthorization: header}, header, nil
}

// restore builds the principal from the session alone: Elasticsearch
// itself checks the user's credentials and index privileges on every
// query (they run as the user), so a changed password or a removed role
// ends access at the next query; ui.rbac is applied afresh to the roles.
func (v *esVerifier) restore(_ context.Context, _ *Authenticator, s *session) (*Principal, error) {
	return &Principal{Name: s.Name, Mode: ModeElasticsearch, Roles: s.Roles, Access: v.rbac.AccessOf(s.Roles),
		esAuthorization: s.Secret}, nil
}

// AccessOf is the union of the access ui.rbac grants to roles; a role not
// in ui.rbac grants nothing.
func (r RBAC) AccessOf(roles []string) Access {
	var a Access
	for _, role := range roles {
		g, ok := r[role]
		if !ok {
			continue
		}
		if g.All {
			a = a.Union(FullAccess())
			continue
		}
		a = a.Union(NamespaceAccess(SomeNamespaces(g.Namespaces...)))
	}
	return a
}

// Transport wraps base (the RoundTripper of the UI's Elasticsearch
// client) so that every query runs as the request's person: in
// elasticsearch mode it replaces the Authorization header with theirs
// (from the Principal in the request context), and it refuses a request
// whose context has no signed-in principal rather than sending it with
// flowship's own credentials. In the other modes it passes requests
// through (flowship's service credentials apply).
func (a *Authenticator) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if a.cfg.Mode != ModeElasticsearch {
		return base
	}
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		p := FromContext(req.Context())
		if p == nil || p.esAuthorization == "" {
			return nil, errors.New("ui.auth: Elasticsearch request without a signed-in user refused (elasticsearch mode queries run as the user)")
		}
		r2 := req.Clone(req.Context())
		r2.Header.Set("Authorization", p.esAuthorization)
		return base.RoundTrip(r2)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
