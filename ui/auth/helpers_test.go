package auth

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// testServer mounts a's handlers and a protected "api/data" endpoint that
// answers the principal's name and filter (and a POST "api/save").
func testServer(t *testing.T, a *Authenticator) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	a.Mount(mux, "/")
	data := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := FromContext(r.Context())
		writeJSON(w, http.StatusOK, map[string]any{"data": "secret-flows", "user": p.Name, "filter": FilterFor(p, FlowFields())})
	})
	mux.Handle("GET /api/data", a.Require(data))
	mux.Handle("POST /api/save", a.Require(data))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func newTestAuth(t *testing.T, cfg Config, o Options, logs io.Writer) (*Authenticator, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	o.Now = c.now
	if o.Listen == "" {
		o.Listen = "127.0.0.1:9090"
	}
	tel := pipeline.NopTelemetry()
	if logs != nil {
		tel.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	a, err := New(cfg, o, tel)
	if err != nil {
		t.Fatal(err)
	}
	return a, c
}

type answer struct {
	status int
	body   string
	header http.Header
}

// do sends one request; cookies are given explicitly (the Secure cookies
// would not travel over the test's plain HTTP through a cookie jar).
func do(t *testing.T, method, url, body string, hdr map[string]string, cookies ...*http.Cookie) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, body: string(b), header: res.Header}
}

// signedIn is a session as the browser holds it.
type signedIn struct {
	session, csrf *http.Cookie
	token         string // csrf_token of the answer
	who           map[string]any
}

func signIn(t *testing.T, base, body string) signedIn {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/auth/signin", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sign-in %s: %d %s", body, res.StatusCode, b)
	}
	var s signedIn
	for _, c := range res.Cookies() {
		switch c.Name {
		case SessionCookie:
			s.session = c
		case CSRFCookie:
			s.csrf = c
		}
	}
	if err := json.Unmarshal(b, &s.who); err != nil {
		t.Fatal(err)
	}
	s.token, _ = s.who["csrf_token"].(string)
	if s.session == nil || s.csrf == nil || s.token == "" {
		t.Fatalf("sign-in set no session/CSRF: %s %v", b, res.Cookies())
	}
	return s
}

// assertNoData checks a refusal: the status and no protected data.
func assertNoData(t *testing.T, what string, a answer, status int) {
	t.Helper()
	if a.status != status || strings.Contains(a.body, "secret-flows") {
		t.Errorf("%s: %d %s, want %d without data", what, a.status, a.body, status)
	}
}

func nopTel() pipeline.Telemetry { return pipeline.NopTelemetry() }

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
