package ui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/ui/auth"
)

// failingES answers every search with an error that carries internals
// which must never reach the browser.
type failingES struct{ queries int }

func (f *failingES) search(context.Context, string, any) ([]byte, error) {
	f.queries++
	return nil, errES{errors.New("secret internals: index [flowship-flows-x] shard 3 failed")}
}

func TestElasticsearchErrorIsNotPassedThrough(t *testing.T) {
	es := &failingES{}
	s := &Server{cfg: DefaultConfig(), es: es, auth: testAuth(t, DefaultConfig(), auth.ESEndpoint{}), naming: esink.DefaultNaming(), log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
	for _, path := range []string{"/api/flows/graph", "/api/flows/arc", "/api/policies/board", "/api/services/graph", "/api/flowlogs", "/api/flowlogs/export", "/api/services/http", "/api/services/dns"} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 502 {
			t.Errorf("%s: %d, want 502", path, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), "shard") {
			t.Errorf("%s: internals passed through: %s", path, rec.Body.String())
		}
	}
	if es.queries != 8 {
		t.Errorf("%d queries, want 8", es.queries)
	}
}

func TestParseFilter(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	q, _ := url.ParseQuery("range=15m&src_ns=shop&src_ns=pay&label=app%3Dweb&label=tier%3Dfe&action=deny&name=")
	f, err := parseFilter(q, nil, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !f.From.Equal(now.Add(-15*time.Minute)) || !f.To.Equal(now) || f.Range != "15m" {
		t.Errorf("range %v..%v %q", f.From, f.To, f.Range)
	}
	if strings.Join(f.SrcNamespace, ",") != "shop,pay" || len(f.Label) != 2 || f.Action[0] != "deny" || f.Name != nil {
		t.Errorf("filter %+v", f)
	}
	q, _ = url.ParseQuery("from=1781085600000&to=2026-06-10T11:00:00Z")
	f, err = parseFilter(q, nil, now, 24*time.Hour)
	if err != nil || f.From != time.Date(2026, 6, 10, 10, 0, 0, 0, time.UTC) || f.To.Sub(f.From) != time.Hour {
		t.Errorf("absolute: %v %v %v", f.From, f.To, err)
	}
}

func FuzzParseFilter(f *testing.F) {
	f.Add("range=1h&src_ns=shop&label=a%3Db")
	f.Add("from=1&to=2&action=deny")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := parseFilter(q, nil, time.Unix(1e9, 0), 24*time.Hour)
		if err != nil {
			var bad badRequest
			if !errors.As(err, &bad) {
				t.Fatalf("error is not a badRequest: %v", err)
			}
			return
		}
		if !flt.From.Before(flt.To) || flt.To.Sub(flt.From) > 24*time.Hour {
			t.Fatalf("range %v..%v accepted", flt.From, flt.To)
		}
		if _, err := json.Marshal(flt); err != nil {
			t.Fatal(err)
		}
	})
}

// recordingES answers every search empty and keeps the bodies it got.
type recordingES struct{ bodies []string }

func (r *recordingES) search(_ context.Context, _ string, body any) ([]byte, error) {
	b, _ := json.Marshal(body)
	r.bodies = append(r.bodies, string(b))
	return []byte(`{"hits":{"total":{"value":0},"hits":[]},"aggregations":{}}`), nil
}

// apiPaths are every API endpoint (issue 11: all of them need a user).
var apiPaths = []string{"/api/meta", "/api/flows/graph", "/api/flows/arc", "/api/policies/board", "/api/policies/rules?rule_tier=t&rule_policy=p",
	"/api/services/graph", "/api/services/http", "/api/services/dns", "/api/flowlogs", "/api/flowlogs/export", "/api/hints?hint=src_ns"}

func esModeServer(t *testing.T, es searcher) *Server {
	cfg := DefaultConfig()
	cfg.Listen = ":9090"
	cfg.Auth.Mode = auth.ModeElasticsearch
	cfg.RBAC = auth.RBAC{"flowship_ui_shop": {Namespaces: []string{"shop"}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := testAuth(t, cfg, auth.ESEndpoint{URL: "http://127.0.0.1:1"})
	return &Server{cfg: cfg, es: es, auth: a, naming: esink.DefaultNaming(), log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
}

// TestAPIRequiresSignIn: in elasticsearch mode no API endpoint answers,
// or asks Elasticsearch anything, without a session; the page, its
// assets and healthz stay public.
func TestAPIRequiresSignIn(t *testing.T) {
	es := &recordingES{}
	h := esModeServer(t, es).Handler()
	for _, path := range apiPaths {
		for _, cookie := range []string{"", auth.SessionCookie + "=forged"} {
			req := httptest.NewRequest("GET", path, nil)
			if cookie != "" {
				req.Header.Set("Cookie", cookie)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 401 || strings.Contains(rec.Body.String(), "hits") {
				t.Errorf("GET %s (cookie %q): %d %s, want 401", path, cookie, rec.Code, rec.Body.String())
			}
		}
	}
	if len(es.bodies) != 0 {
		t.Errorf("%d queries without a user, want none", len(es.bodies))
	}
	for _, path := range []string{"/", "/healthz", "/assets/app.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Errorf("GET %s: %d, want 200 (public)", path, rec.Code)
		}
	}
}

// TestScopeAddsAccessRule: every query of a namespace-limited user
// carries auth.FilterFor's clause (the ES filter on shop), and the rules
// of another namespace's policy are refused before any query.
func TestScopeAddsAccessRule(t *testing.T) {
	es := &recordingES{}
	s := esModeServer(t, es)
	p := &auth.Principal{Name: "a", Mode: auth.ModeElasticsearch, Access: auth.NamespaceAccess(auth.SomeNamespaces("shop"))}
	call := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		req = req.WithContext(auth.WithPrincipal(req.Context(), p))
		// Past Require (tested above): the handlers read the principal from the context.
		route := strings.TrimPrefix(req.URL.Path, "/")
		if route == "api/flowlogs/export" {
			s.handleExport(rec, req)
		} else {
			s.jsonHandler(s.api()[route]).ServeHTTP(rec, req)
		}
		return rec
	}
	for _, path := range apiPaths {
		if strings.Contains(path, "rules") {
			continue
		}
		before := len(es.bodies)
		rec := call(path)
		if rec.Code != 200 {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body.String())
			continue
		}
		for _, b := range es.bodies[before:] {
			field := "source_namespace"
			if strings.Contains(path, "http") {
				field = "src_namespace"
			} else if strings.Contains(path, "dns") {
				field = "client_namespace"
			}
			if !strings.Contains(b, `{"terms":{"`+field+`":["shop"]}}`) {
				t.Errorf("GET %s: query without the access rule on %s: %s", path, field, b)
			}
		}
	}
	before := len(es.bodies)
	if rec := call("/api/policies/rules?rule_tier=default&rule_policy=other/default.p"); rec.Code != 403 {
		t.Errorf("rules of another namespace's policy: %d, want 403", rec.Code)
	}
	if rec := call("/api/policies/rules?rule_tier=default&rule_policy=shop/default.p"); rec.Code != 200 {
		t.Errorf("rules of an own policy: %d, want 200", rec.Code)
	}
	if len(es.bodies) != before+1 {
		t.Errorf("%d queries, want 1 (the refused rules view asks nothing)", len(es.bodies)-before)
	}
}

func TestConfigAuthValidated(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen = ":9090"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "ui.auth.mode none") {
		t.Errorf("mode none off loopback: %v", err)
	}
	cfg.Listen = "127.0.0.1:9090"
	cfg.RBAC = auth.RBAC{"r": {Namespaces: []string{"Bad_NS"}}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "ui.rbac.r") {
		t.Errorf("bad rbac namespace: %v", err)
	}
}
