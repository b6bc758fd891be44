package auth

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeES answers _security/_authenticate like Elasticsearch 8 for one
// user/password (answer shape as a real 8.19 node's, see the integration
// test for the real one).
func fakeES(t *testing.T, calls *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:right-password"))
		if r.URL.Path != "/_security/_authenticate" || r.Header.Get("Authorization") != want {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"type":"security_exception","reason":"unable to authenticate user [alice]"},"status":401}`)
			return
		}
		fmt.Fprint(w, `{"username":"alice","roles":["flowship_ui_shop"],"full_name":null,"email":null,"metadata":{},"enabled":true,"authentication_realm":{"name":"default_file","type":"file"},"lookup_realm":{"name":"default_file","type":"file"},"authentication_type":"realm"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func esModeConfig() Config {
	c := DefaultConfig()
	c.Mode = ModeElasticsearch
	c.MaxFailures = 3
	return c
}

func TestSessionLifecycle(t *testing.T) {
	var calls atomic.Int64
	es := fakeES(t, &calls)
	a, clk := newTestAuth(t, esModeConfig(), Options{Listen: ":9090", RBAC: RBAC{"flowship_ui_shop": {Namespaces: []string{"shop"}}},
		Elasticsearch: ESEndpoint{URL: es.URL}}, nil)
	srv := testServer(t, a)
	s := signIn(t, srv.URL, `{"username":"alice","password":"right-password"}`)

	if !s.session.HttpOnly || !s.session.Secure || s.session.SameSite != http.SameSiteStrictMode || s.session.Path != "/" {
		t.Errorf("session cookie attributes: %+v", s.session)
	}
	if s.csrf.HttpOnly || !s.csrf.Secure || s.csrf.Value != s.token {
		t.Errorf("CSRF cookie must be readable, Secure and equal the answer's token: %+v", s.csrf)
	}
	if s.session.Value == s.token || len(s.session.Value) < 40 {
		t.Errorf("session id %q too short or equal to the CSRF token", s.session.Value)
	}
	if s.who["name"] != "alice" || strings.Contains(fmt.Sprint(s.who), "right-password") {
		t.Errorf("whoami: %v", s.who)
	}

	got := do(t, "GET", srv.URL+"/api/data", "", nil, s.session)
	if got.status != 200 || !strings.Contains(got.body, `"user":"alice"`) || !strings.Contains(got.body, `"source_namespace":["shop"]`) {
		t.Fatalf("signed-in GET: %d %s", got.status, got.body)
	}
	who := do(t, "GET", srv.URL+"/auth/whoami", "", nil, s.session)
	if who.status != 200 || !strings.Contains(who.body, s.token) || !strings.Contains(who.body, `"names":["shop"]`) {
		t.Errorf("whoami: %d %s", who.status, who.body)
	}

	assertNoData(t, "no cookie", do(t, "GET", srv.URL+"/api/data", "", nil), 401)
	assertNoData(t, "forged cookie", do(t, "GET", srv.URL+"/api/data", "", nil, &http.Cookie{Name: SessionCookie, Value: randomID()}), 401)
	assertNoData(t, "CSRF missing", do(t, "POST", srv.URL+"/api/save", "{}", nil, s.session, s.csrf), 403)
	assertNoData(t, "CSRF wrong", do(t, "POST", srv.URL+"/api/save", "{}", map[string]string{CSRFHeader: randomID()}, s.session, s.csrf), 403)
	assertNoData(t, "cross-site POST", do(t, "POST", srv.URL+"/api/save", "{}",
		map[string]string{CSRFHeader: s.token, "Sec-Fetch-Site": "cross-site"}, s.session), 403)
	if ok := do(t, "POST", srv.URL+"/api/save", "{}", map[string]string{CSRFHeader: s.token}, s.session); ok.status != 200 {
		t.Errorf("POST with CSRF token: %d %s", ok.status, ok.body)
	}

	// Sign-out needs the CSRF token, then the session is gone.
	assertNoData(t, "sign-out without CSRF", do(t, "POST", srv.URL+"/auth/signout", "", nil, s.session), 403)
	out := do(t, "POST", srv.URL+"/auth/signout", "", map[string]string{CSRFHeader: s.token}, s.session)
	if out.status != 204 || !strings.Contains(strings.Join(out.header.Values("Set-Cookie"), ";"), "Max-Age=0") {
		t.Errorf("sign-out: %d %v", out.status, out.header)
	}
	assertNoData(t, "after sign-out", do(t, "GET", srv.URL+"/api/data", "", nil, s.session), 401)

	// Signing in again over a session replaces it.
	s1 := signIn(t, srv.URL, `{"username":"alice","password":"right-password"}`)
	again := do(t, "POST", srv.URL+"/auth/signin", `{"username":"alice","password":"right-password"}`, nil, s1.session)
	if again.status != 200 {
		t.Fatalf("second sign-in: %d", again.status)
	}
	assertNoData(t, "the replaced session", do(t, "GET", srv.URL+"/api/data", "", nil, s1.session), 401)

	// Expiry: valid until session_ttl, refused from then on.
	s2 := signIn(t, srv.URL, `{"username":"alice","password":"right-password"}`)
	clk.add(a.cfg.SessionTTL - time.Second)
	if got := do(t, "GET", srv.URL+"/api/data", "", nil, s2.session); got.status != 200 {
		t.Errorf("session refused before its TTL: %d", got.status)
	}
	clk.add(time.Second)
	assertNoData(t, "expired session", do(t, "GET", srv.URL+"/api/data", "", nil, s2.session), 401)
	if n := a.out.len(); n != 2 { // the signed-out and the replaced session; nothing else is kept
		t.Errorf("%d signed-out sessions kept, want 2", n)
	}
}

func TestSignInFailuresLimitedAndLoggedWithoutPassword(t *testing.T) {
	var calls atomic.Int64
	es := fakeES(t, &calls)
	logs := &syncBuffer{}
	a, clk := newTestAuth(t, esModeConfig(), Options{Listen: ":9090", Elasticsearch: ESEndpoint{URL: es.URL}}, logs)
	srv := testServer(t, a)
	bad := `{"username":"alice","password":"wrong-pw-123"}`
	for i := range 3 {
		if got := do(t, "POST", srv.URL+"/auth/signin", bad, nil); got.status != 401 || got.header.Get("Set-Cookie") != "" {
			t.Fatalf("failure %d: %d %s %v", i, got.status, got.body, got.header)
		}
	}
	before := calls.Load()
	got := do(t, "POST", srv.URL+"/auth/signin", `{"username":"alice","password":"right-password"}`, nil)
	if got.status != 429 || got.header.Get("Retry-After") == "" {
		t.Errorf("4th attempt in the window: %d %v, want 429 with Retry-After", got.status, got.header)
	}
	if calls.Load() != before {
		t.Error("a limited sign-in still asked Elasticsearch")
	}
	if strings.Contains(logs.String(), "wrong-pw-123") || strings.Contains(logs.String(), "right-password") {
		t.Errorf("a password reached the log:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "sign-in failed") || !strings.Contains(logs.String(), "user=alice") {
		t.Errorf("failures not logged with the user name:\n%s", logs)
	}
	clk.add(a.cfg.FailureWindow)
	signIn(t, srv.URL, `{"username":"alice","password":"right-password"}`)
}

func TestSignInBadRequests(t *testing.T) {
	var calls atomic.Int64
	es := fakeES(t, &calls)
	a, _ := newTestAuth(t, esModeConfig(), Options{Listen: ":9090", Elasticsearch: ESEndpoint{URL: es.URL}}, nil)
	srv := testServer(t, a)
	cases := []struct {
		name   string
		body   string
		hdr    map[string]string
		status int
	}{
		{"form post (no JSON content type)", "username=alice", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"unknown field", `{"user":"alice"}`, nil, 400},
		{"not JSON", `{`, nil, 400},
		{"cross-site", `{"username":"alice","password":"right-password"}`, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"empty password", `{"username":"alice","password":""}`, nil, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := do(t, "POST", srv.URL+"/auth/signin", c.body, c.hdr)
			if got.status != c.status || got.header.Get("Set-Cookie") != "" {
				t.Errorf("%d %s (cookies %q), want %d and no cookie", got.status, got.body, got.header.Get("Set-Cookie"), c.status)
			}
		})
	}
	es.Close()
	got := do(t, "POST", srv.URL+"/auth/signin", `{"username":"alice","password":"right-password"}`, nil)
	if got.status != 503 {
		t.Errorf("Elasticsearch down: %d %s, want 503", got.status, got.body)
	}
}

func TestModeNone(t *testing.T) {
	if _, err := New(DefaultConfig(), Options{Listen: "0.0.0.0:9090"}, nopTel()); err == nil {
		t.Fatal("mode none accepted on 0.0.0.0")
	}
	logs := &syncBuffer{}
	a, _ := newTestAuth(t, DefaultConfig(), Options{Listen: "127.0.0.1:9090"}, logs)
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "every flow") {
		t.Errorf("no warning for mode none:\n%s", logs)
	}
	srv := testServer(t, a)
	got := do(t, "GET", srv.URL+"/api/data", "", nil)
	if got.status != 200 || !strings.Contains(got.body, `"filter":null`) || !strings.Contains(got.body, `"user":"anonymous"`) {
		t.Errorf("mode none: %d %s", got.status, got.body)
	}
}

func TestTransportRunsAsTheUser(t *testing.T) {
	var seen []string
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.Header.Get("Authorization"))
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	a, _ := newTestAuth(t, esModeConfig(), Options{Listen: ":1", Elasticsearch: ESEndpoint{URL: "http://es"}}, nil)
	tr := a.Transport(base)
	req, _ := http.NewRequest("GET", "http://es/_search", nil)
	req.Header.Set("Authorization", "Basic c2VydmljZTpzZWNyZXQ=") // flowship's own, set by the ES client
	if _, err := tr.RoundTrip(req); err == nil {
		t.Error("a query without a signed-in user was sent")
	}
	p := &Principal{Name: "alice", esAuthorization: "Basic YWxpY2U6cHc="}
	if _, err := tr.RoundTrip(req.WithContext(WithPrincipal(req.Context(), p))); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "Basic YWxpY2U6cHc=" {
		t.Errorf("sent Authorization %q, want the user's", seen)
	}
	if req.Header.Get("Authorization") != "Basic c2VydmljZTpzZWNyZXQ=" {
		t.Error("the caller's request was modified")
	}
	none, _ := newTestAuth(t, DefaultConfig(), Options{}, nil)
	if none.Transport(base) == nil {
		t.Error("mode none: no transport")
	}
}

func TestSignedOutCap(t *testing.T) {
	d := newSignedOut(2)
	now := time.Unix(1000, 0)
	d.add("gone", now.Add(-time.Second), now.Add(-time.Hour)) // expired by now
	d.add("a", now.Add(time.Hour), now)
	d.add("b", now.Add(2*time.Hour), now) // at the cap: the expired one goes
	d.add("c", now.Add(3*time.Hour), now) // at the cap: the one expiring first goes
	if d.has("gone") || d.has("a") || !d.has("b") || !d.has("c") || d.len() != 2 {
		t.Errorf("cap 2 kept %v", d.m)
	}
}
