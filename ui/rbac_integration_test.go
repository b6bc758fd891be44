//go:build integration

package ui

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/ui/auth"
)

// rbacServer is the fixture behind a ui server in elasticsearch mode, as
// Open builds it (transport wrapped by the authenticator, so every query
// runs as the signed-in Elasticsearch user), with a clock the test moves.
func rbacServer(t *testing.T) (http.Handler, *atomic.Int64) {
	t.Helper()
	_, naming := indexFixture(t)
	cfg := DefaultConfig()
	cfg.Listen = ":9090"
	cfg.Auth.Mode = auth.ModeElasticsearch
	// Role names of deploy/local's file-realm test users (lib/es.sh).
	cfg.RBAC = auth.RBAC{"flowship_ui_shop": {Namespaces: []string{"shop"}}, "flowship_ui_all": {All: true}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	esCfg := esink.DefaultConfig()
	esCfg.URLs = []string{testenv.Elasticsearch(t).URL}
	esCfg.Naming = naming
	tr, err := esink.HTTPTransport(esCfg)
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	a, err := auth.New(cfg.Auth, auth.Options{Listen: cfg.Listen, BasePath: cfg.BasePath, RBAC: cfg.RBAC,
		Elasticsearch: auth.ESEndpoint{URL: esCfg.URLs[0], Client: &http.Client{Transport: tr}},
		Now:           func() time.Time { return time.Unix(0, clock.Load()) }}, pipeline.NopTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	es, err := esink.NewClientWithTransport(esCfg, a.Transport(tr))
	if err != nil {
		t.Fatal(err)
	}
	srv := New(cfg, es, a, naming, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.now = func() time.Time { return t0.Add(30 * time.Minute) }
	return srv.Handler(), &clock
}

// session is a signed-in user's cookies.
type session struct{ cookie, csrf string }

func signIn(t *testing.T, h http.Handler, userEnv, passEnv string) session {
	t.Helper()
	user, pass := os.Getenv(userEnv), os.Getenv(passEnv)
	if user == "" || pass == "" {
		t.Skipf("%s/%s not set (deploy/local/services.sh env exports the RBAC test users)", userEnv, passEnv)
	}
	body, _ := json.Marshal(map[string]string{"username": user, "password": pass})
	req := httptest.NewRequest("POST", "/auth/signin", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("sign-in %s: %d %s", user, rec.Code, rec.Body.String())
	}
	var s session
	for _, c := range rec.Result().Cookies() {
		switch c.Name {
		case auth.SessionCookie:
			s.cookie = c.Name + "=" + c.Value
		case auth.CSRFCookie:
			s.csrf = c.Value
		}
	}
	if s.cookie == "" || s.csrf == "" {
		t.Fatalf("sign-in %s: cookies %v", user, rec.Result().Cookies())
	}
	return s
}

func (s session) do(h http.Handler, method, path string, csrf bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if s.cookie != "" {
		req.Header.Set("Cookie", s.cookie)
	}
	if csrf {
		req.Header.Set(auth.CSRFHeader, s.csrf)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func (s session) get(t *testing.T, h http.Handler, path string, want int, v any) string {
	t.Helper()
	rec := s.do(h, "GET", path, false)
	if rec.Code != want {
		t.Fatalf("GET %s: %d, want %d: %s", path, rec.Code, want, rec.Body.String())
	}
	if v != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return rec.Body.String()
}

// outsideShop are strings that only appear in data user A (namespace
// shop) may not see: other namespaces' endpoints and queries, and the
// names of global policies and of other namespaces' policies.
var outsideShop = []string{"image-sync", "dns-servers", `"ci"`, "ci/", "kns.ci", "registry.example.org", "pvt", `"pub"`,
	"t1.p1", "t1.p4", "default-deny", "health"}

// TestRBAC signs in the two file-realm users of deploy/local through the
// ui server on the real Elasticsearch (security on) and checks the access
// rule of docs/security.md on every endpoint: A (role flowship_ui_shop →
// namespace shop) sees only flows with an endpoint in shop and no
// global or foreign policy name, whatever the filter; B (flowship_ui_all)
// sees everything. Expected numbers are summed by hand over the fixture
// rows (fixture_integration_test.go): A's flows are D1, D2, D3.
func TestRBAC(t *testing.T) {
	h, clock := rbacServer(t)
	a := signIn(t, h, "FLOWSHIP_ES_USER_SHOP", "FLOWSHIP_ES_PASSWORD_SHOP")
	b := signIn(t, h, "FLOWSHIP_ES_USER_ALL", "FLOWSHIP_ES_PASSWORD_ALL")
	r := "?" + fixtureRange

	t.Run("WhoAmI", func(t *testing.T) {
		var w struct {
			Name   string
			Access auth.Access
			CSRF   string `json:"csrf_token"`
		}
		a.get(t, h, "/auth/whoami", 200, &w)
		if w.Name != os.Getenv("FLOWSHIP_ES_USER_SHOP") || w.CSRF != a.csrf || !w.Access.Pods.Has("shop") || w.Access.Pods.Has("pay") {
			t.Errorf("whoami: %+v", w)
		}
	})

	// Every endpoint, with filters that try to reach other namespaces.
	probes := []string{"", "&ns=ci", "&ns=pay", "&src_ns=ci", "&dst_ns=-", "&src_label=app%3Dimage-sync", "&name=image-sync-*",
		"&type=ns", "&tier=t1&policy=t1.p1", "&tier=t1", "&action=deny", "&src_ns=ci&src_ns=shop"}
	views := []string{"/api/meta", "/api/flows/graph", "/api/flows/arc", "/api/policies/board", "/api/services/graph", "/api/services/http",
		"/api/services/dns", "/api/flowlogs?size=500", "/api/flowlogs/export?size=500",
		"/api/hints?hint=src_ns", "/api/hints?hint=dst_ns", "/api/hints?hint=ns", "/api/hints?hint=name", "/api/hints?hint=dst_name",
		"/api/hints?hint=tier", "/api/hints?hint=policy"}
	t.Run("ANeverSeesOutside", func(t *testing.T) {
		for _, v := range views {
			for _, p := range probes {
				path := v + strings.Replace(r, "?", "&", 1) + p
				if !strings.Contains(v, "?") {
					path = v + r + p
				}
				body := a.get(t, h, path, 200, nil)
				for _, bad := range outsideShop {
					if strings.Contains(body, bad) {
						t.Errorf("A: GET %s answers %q: %s", path, bad, body)
					}
				}
			}
		}
	})

	t.Run("Totals", func(t *testing.T) {
		type graph struct {
			Total struct{ Connections, Bytes int64 }
			Arcs  []struct {
				Src, Dst struct{ Namespace string }
			}
		}
		var ga, gb graph
		a.get(t, h, "/api/flows/graph"+r, 200, &ga)
		b.get(t, h, "/api/flows/graph"+r, 200, &gb)
		// A: D1+D2+D3 = 3+2+4 connections, 150+50+400 bytes; B: all six in range.
		if ga.Total.Connections != 9 || ga.Total.Bytes != 600 || len(ga.Arcs) != 2 {
			t.Errorf("A graph total %+v, %d arcs; want 9 connections, 600 bytes, 2 arcs", ga.Total, len(ga.Arcs))
		}
		for _, arc := range ga.Arcs {
			if arc.Src.Namespace != "shop" && arc.Dst.Namespace != "shop" {
				t.Errorf("A sees arc %+v", arc)
			}
		}
		if gb.Total.Connections != 18 || len(gb.Arcs) != 5 {
			t.Errorf("B graph total %+v, %d arcs; want 18 connections, 5 arcs", gb.Total, len(gb.Arcs))
		}
		var la, lb struct{ Total int64 }
		a.get(t, h, "/api/flowlogs"+r, 200, &la)
		b.get(t, h, "/api/flowlogs"+r, 200, &lb)
		if la.Total != 3 || lb.Total != 6 {
			t.Errorf("flow log totals A %d B %d, want 3 and 6", la.Total, lb.Total)
		}
		if n := strings.Count(a.get(t, h, "/api/flowlogs/export"+r+"&size=500", 200, nil), "\n"); n != 3 {
			t.Errorf("A export: %d lines, want 3", n)
		}
	})

	t.Run("PolicyBoard", func(t *testing.T) {
		type board struct {
			Connections int64
			Lists       map[string][]BoardTier
		}
		var ba, bb board
		a.get(t, h, "/api/policies/board"+r, 200, &ba)
		b.get(t, h, "/api/policies/board"+r, 200, &bb)
		if ba.Connections != 9 {
			t.Errorf("A board connections %d, want 9", ba.Connections)
		}
		// A's enforced hits (D1, D2, D3): shop/t2.p2 allows D1+D2 (5); t1.p1 (global,
		// passes 3+2+4) and t2.default-deny (global, denies 4) are hidden: one "*" of
		// 13 connections, 9 passed, 4 denied.
		got := map[string]Verdicts{}
		for _, tier := range ba.Lists["enforced"] {
			for _, p := range tier.Policies {
				got[tier.Tier+"/"+p.Name] = p.Verdicts
			}
		}
		want := map[string]Verdicts{
			"t2/shop/t2.p2": {Connections: 5, Allowed: 5},
			"*/*":           {Connections: 13, Passed: 9, Denied: 4},
		}
		if len(got) != len(want) || got["t2/shop/t2.p2"] != want["t2/shop/t2.p2"] || got["*/*"] != want["*/*"] {
			t.Errorf("A enforced board %+v, want %+v", got, want)
		}
		names := map[string]bool{}
		for _, tier := range bb.Lists["enforced"] {
			for _, p := range tier.Policies {
				names[p.Name] = true
			}
		}
		for _, n := range []string{"t1.p1", "shop/t2.p2", "t2.default-deny", "t1.p4", "__PROFILE__.kns.ci"} {
			if !names[n] {
				t.Errorf("B's board lacks %s: %v", n, names)
			}
		}
	})

	t.Run("Rules", func(t *testing.T) {
		q := r + "&rule_tier=t1&rule_policy=" + url.QueryEscape("t1.p1")
		if body := a.get(t, h, "/api/policies/rules"+q, 403, nil); strings.Contains(body, "rules\"") {
			t.Errorf("A: hidden policy's rules: %s", body)
		}
		b.get(t, h, "/api/policies/rules"+q, 200, nil)
		var ru struct{ Rules []Rule }
		a.get(t, h, "/api/policies/rules"+r+"&rule_tier=t2&rule_policy="+url.QueryEscape("shop/t2.p2"), 200, &ru)
		if len(ru.Rules) == 0 {
			t.Errorf("A: no rules of its own policy shop/t2.p2")
		}
	})

	t.Run("FlowLogsRedacted", func(t *testing.T) {
		var l struct{ Docs []map[string]any }
		a.get(t, h, "/api/flowlogs"+r, 200, &l)
		for _, d := range l.Docs {
			pols, _ := json.Marshal(d["policies"])
			if strings.Contains(string(pols), "t1.p1") || (d["source_namespace"] != "shop" && d["dest_namespace"] != "shop") {
				t.Errorf("A flow log doc %v", d)
			}
		}
		if len(l.Docs) != 3 || !strings.Contains(a.get(t, h, "/api/flowlogs"+r, 200, nil), `0|*|*|pass|*`) {
			t.Errorf("A: %d docs, want 3 with t1.p1 shown as 0|*|*|pass|*", len(l.Docs))
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		none := session{}
		forged := session{cookie: auth.SessionCookie + "=" + strings.Repeat("A", 43)}
		for _, s := range []session{none, forged} {
			for _, v := range views {
				rec := s.do(h, "GET", v, false)
				if rec.Code != 401 || strings.Contains(rec.Body.String(), "shop") {
					t.Errorf("GET %s with %q: %d %s, want 401 and no data", v, s.cookie, rec.Code, rec.Body.String())
				}
			}
		}
		// Sign-out without the CSRF header is refused and leaves the session alive.
		if rec := a.do(h, "POST", "/auth/signout", false); rec.Code != 403 {
			t.Errorf("sign-out without CSRF: %d, want 403", rec.Code)
		}
		a.get(t, h, "/api/flowlogs"+r, 200, nil)
		if rec := a.do(h, "POST", "/auth/signout", true); rec.Code != 204 {
			t.Errorf("sign-out: %d, want 204", rec.Code)
		}
		a.get(t, h, "/api/flowlogs"+r, 401, nil)
		// B's session expires after session_ttl (8h).
		b.get(t, h, "/api/flowlogs"+r, 200, nil)
		clock.Add(int64(8*time.Hour + time.Second))
		if body := b.get(t, h, "/api/flowlogs"+r, 401, nil); strings.Contains(body, "docs") {
			t.Errorf("expired session answered data: %s", body)
		}
	})
}
