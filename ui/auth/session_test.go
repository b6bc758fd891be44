package auth

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// keyFile writes a session key file of the given keys (standard base64
// a line, a comment and a blank line between) and returns its path.
func keyFile(t *testing.T, keys ...[]byte) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# flowship ui session keys; the first seals\n\n")
	for _, k := range keys {
		b.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	}
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func key(c byte) []byte { return bytes.Repeat([]byte{c}, 32) }

func TestSealer(t *testing.T) {
	k1, _ := newSealer([][]byte{key(1)})
	k2, _ := newSealer([][]byte{key(2)})
	rotated, _ := newSealer([][]byte{key(2), key(1)}) // new key first, the old one still opens
	v := k1.seal([]byte("payload"))
	if got, ok := k1.open(v); !ok || string(got) != "payload" {
		t.Fatalf("round trip: %q %v", got, ok)
	}
	if v2 := k1.seal([]byte("payload")); v2 == v {
		t.Error("two seals of one payload are equal (nonce reused)")
	}
	if _, ok := k2.open(v); ok {
		t.Error("another key opened the value")
	}
	if got, ok := rotated.open(v); !ok || string(got) != "payload" {
		t.Error("the old key of a rotated list did not open its value")
	}
	if _, ok := k1.open(rotated.seal([]byte("x"))); ok {
		t.Error("a rotated list sealed with an old key")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(v, cookiePrefix))
	for i := range raw {
		alt := bytes.Clone(raw)
		alt[i] ^= 1
		if _, ok := k1.open(cookiePrefix + base64.RawURLEncoding.EncodeToString(alt)); ok {
			t.Fatalf("a value with byte %d flipped opened", i)
		}
	}
	for _, bad := range []string{"", "v1.", "v2." + strings.TrimPrefix(v, cookiePrefix), strings.TrimPrefix(v, cookiePrefix), v[:20], v + "A", "v1.!!!"} {
		if _, ok := k1.open(bad); ok {
			t.Errorf("%q opened", bad)
		}
	}
	if _, err := newSealer([][]byte{[]byte("short")}); err == nil {
		t.Error("a 5-byte key accepted")
	}
}

func TestLoadSessionKeys(t *testing.T) {
	keys, err := LoadSessionKeys(keyFile(t, key(1), key(2)))
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], key(1)) || !bytes.Equal(keys[1], key(2)) {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"short":   "# c\n" + base64.StdEncoding.EncodeToString(key(1)) + "\n" + base64.StdEncoding.EncodeToString([]byte("16 bytes only!!!")) + "\n",
		"notb64":  "not base64 at all\n",
		"empty":   "# only a comment\n\n",
		"missing": "",
	} {
		p := filepath.Join(dir, name)
		if name != "missing" {
			_ = os.WriteFile(p, []byte(body), 0o600)
		}
		_, err := LoadSessionKeys(p)
		if err == nil || !strings.Contains(err.Error(), "ui.auth.session_key_file") {
			t.Errorf("%s: %v, want an error naming the key", name, err)
		}
		if name == "short" && !strings.Contains(err.Error(), p+" line 3") {
			t.Errorf("short key: %v, want the file and line 3", err)
		}
	}
}

// replica is one ui server of a set that may share a session key file.
func replica(t *testing.T, cfg Config, o Options) (*Authenticator, *clock, string) {
	t.Helper()
	a, clk := newTestAuth(t, cfg, o, nil)
	return a, clk, testServer(t, a).URL
}

// TestSessionsAcrossReplicas: two ui servers with the same key accept
// each other's sessions (CSRF included); a server with another key, a
// forged or altered cookie, an expired one or one of another mode get 401
// with no data; sign-out holds on the replica that served it.
func TestSessionsAcrossReplicas(t *testing.T) {
	var calls atomic.Int64
	es := fakeES(t, &calls)
	cfg := esModeConfig()
	cfg.SessionKeyFile = keyFile(t, key(7))
	o := Options{Listen: ":9090", RBAC: RBAC{"flowship_ui_shop": {Namespaces: []string{"shop"}}}, Elasticsearch: ESEndpoint{URL: es.URL}}
	_, _, srvA := replica(t, cfg, o)
	_, clkB, srvB := replica(t, cfg, o)
	other := cfg
	other.SessionKeyFile = keyFile(t, key(8))
	_, _, srvC := replica(t, other, o)

	s := signIn(t, srvA, `{"username":"alice","password":"right-password"}`)
	basic := base64.StdEncoding.EncodeToString([]byte("alice:right-password"))
	if strings.Contains(s.session.Value, "right-password") || strings.Contains(s.session.Value, basic) || strings.Contains(s.session.Value, "alice") {
		t.Error("the cookie carries the credential or the name in clear")
	}
	before := calls.Load()
	got := do(t, "GET", srvB+"/api/data", "", nil, s.session)
	if got.status != 200 || !strings.Contains(got.body, `"user":"alice"`) || !strings.Contains(got.body, `"source_namespace":["shop"]`) {
		t.Fatalf("replica B with A's cookie: %d %s", got.status, got.body)
	}
	if calls.Load() != before {
		t.Error("replica B asked Elasticsearch to accept A's session (the cookie is enough)")
	}
	if got := do(t, "POST", srvB+"/api/save", "{}", map[string]string{CSRFHeader: s.token}, s.session); got.status != 200 {
		t.Errorf("replica B, POST with A's CSRF token: %d %s", got.status, got.body)
	}
	assertNoData(t, "replica B, POST without the CSRF token", do(t, "POST", srvB+"/api/save", "{}", nil, s.session, s.csrf), 403)
	if who := do(t, "GET", srvB+"/auth/whoami", "", nil, s.session); who.status != 200 || !strings.Contains(who.body, s.token) {
		t.Errorf("replica B whoami: %d %s", who.status, who.body)
	}

	assertNoData(t, "another key", do(t, "GET", srvC+"/api/data", "", nil, s.session), 401)
	assertNoData(t, "forged cookie", do(t, "GET", srvB+"/api/data", "", nil, &http.Cookie{Name: SessionCookie, Value: "v1." + randomID()}), 401)
	altered := []byte(s.session.Value)
	altered[len(altered)/2] ^= 1
	assertNoData(t, "altered cookie", do(t, "GET", srvB+"/api/data", "", nil, &http.Cookie{Name: SessionCookie, Value: string(altered)}), 401)

	// A cookie of another mode, sealed with the same key, is refused.
	kcfg := cfg
	kcfg.Mode = ModeKubernetes
	api := newFakeAPIServer(t)
	_, _, srvK := replica(t, kcfg, Options{Listen: ":9090", Kube: NewKubeClientForTest(api.srv.URL, api.srv.Client(), ownToken)})
	assertNoData(t, "elasticsearch-mode cookie on a kubernetes-mode replica", do(t, "GET", srvK+"/api/data", "", nil, s.session), 401)

	// Sign-out on A: A refuses the cookie from now on. B cannot know
	// (no shared state); the cookie is valid there until it expires, as
	// docs/security.md says.
	if out := do(t, "POST", srvA+"/auth/signout", "", map[string]string{CSRFHeader: s.token}, s.session); out.status != 204 {
		t.Fatalf("sign-out: %d", out.status)
	}
	assertNoData(t, "A after sign-out", do(t, "GET", srvA+"/api/data", "", nil, s.session), 401)
	if got := do(t, "GET", srvB+"/api/data", "", nil, s.session); got.status != 200 {
		t.Errorf("B after sign-out on A: %d (the documented limit says 200 until expiry)", got.status)
	}
	// Expiry holds everywhere: B's clock past session_ttl.
	clkB.add(cfg.SessionTTL)
	assertNoData(t, "expired on B", do(t, "GET", srvB+"/api/data", "", nil, s.session), 401)
}

// TestKubeSessionsAcrossReplicas: in kubernetes mode the cookie holds the
// token; a replica that has not seen it decides access itself (TokenReview
// and SubjectAccessReviews), and a revoked token ends the session there too.
func TestKubeSessionsAcrossReplicas(t *testing.T) {
	api := newFakeAPIServer(t)
	cfg := DefaultConfig()
	cfg.Mode = ModeKubernetes
	cfg.CacheTTL = 30 * time.Second
	cfg.SessionKeyFile = keyFile(t, key(9))
	o := Options{Listen: ":9090", Kube: NewKubeClientForTest(api.srv.URL, api.srv.Client(), ownToken)}
	_, _, srvA := replica(t, cfg, o)
	_, clkB, srvB := replica(t, cfg, o)
	s := signIn(t, srvA, `{"token":"`+saToken+`"}`)
	if strings.Contains(s.session.Value, saToken) {
		t.Error("the token is in the cookie in clear")
	}
	before := api.calls.Load()
	got := do(t, "GET", srvB+"/api/data", "", nil, s.session)
	if got.status != 200 || !strings.Contains(got.body, `"source_namespace":["shop"]`) || api.calls.Load() == before {
		t.Fatalf("replica B: %d %s (API calls %d→%d)", got.status, got.body, before, api.calls.Load())
	}
	api.revoke(saToken)
	clkB.add(30 * time.Second)
	got = do(t, "GET", srvB+"/api/data", "", nil, s.session)
	assertNoData(t, "revoked token on B", got, 401)
	if !strings.Contains(strings.Join(got.header.Values("Set-Cookie"), ";"), "Max-Age=0") {
		t.Error("the revoked session's cookies were not cleared")
	}
}

// TestSessionCookieTooLong: a token too long for a cookie is refused at
// sign-in (400, no cookie) rather than set and dropped by the browser; as
// an Authorization header (a proxy) it still works.
func TestSessionCookieTooLong(t *testing.T) {
	api := newFakeAPIServer(t)
	a, _ := kubeAuth(t, api)
	srv := testServer(t, a)
	got := do(t, "POST", srv.URL+"/auth/signin", `{"token":"`+longToken+`"}`, nil)
	if got.status != 400 || got.header.Get("Set-Cookie") != "" || !strings.Contains(got.body, "Authorization header") {
		t.Errorf("sign-in with a 3 kB token: %d %s %v, want 400 without a cookie", got.status, got.body, got.header)
	}
	if got := do(t, "GET", srv.URL+"/api/data", "", map[string]string{"Authorization": "Bearer " + longToken}); got.status != 200 {
		t.Errorf("the same token as a bearer header: %d", got.status)
	}
}
