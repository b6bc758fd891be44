package kibana

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flowship/flowship/pipeline"
)

func TestMain(m *testing.M) {
	importBackoff = pipeline.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}
	goleak.VerifyTestMain(m)
}

// received is what the fake Kibana saw in one import request.
type received struct {
	Method, Path, Query, XSRF, Auth, FileName string
	File                                      []byte
}

// fakeKibana answers each import with the next of answers (the last one
// repeats) and records what it received.
type fakeKibana struct {
	t       *testing.T
	answers []answer
	calls   atomic.Int32
	got     chan received
}

type answer struct {
	status int
	body   string
}

func newFakeKibana(t *testing.T, answers ...answer) (*fakeKibana, *httptest.Server) {
	k := &fakeKibana{t: t, answers: answers, got: make(chan received, 16)}
	srv := httptest.NewServer(k)
	t.Cleanup(srv.Close)
	return k, srv
}

func (k *fakeKibana) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(k.calls.Add(1))
	rec := received{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, XSRF: r.Header.Get("kbn-xsrf"), Auth: r.Header.Get("Authorization")}
	if f, h, err := r.FormFile("file"); err == nil {
		rec.FileName = h.Filename
		rec.File, _ = io.ReadAll(f)
		f.Close()
	}
	k.got <- rec
	a := k.answers[min(n, len(k.answers))-1]
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func (k *fakeKibana) last(t *testing.T) received {
	t.Helper()
	var r received
	for {
		select {
		case r = <-k.got:
		default:
			return r
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportSendsObjects(t *testing.T) {
	objects := Objects()
	n := countObjects(objects)
	okBody := `{"success":true,"successCount":` + itoa(n) + `,"successResults":[]}`
	pw := writeFile(t, "pw", "s3cret\n")
	key := writeFile(t, "key", "a2V5OnNlY3JldA==\n")
	tests := []struct {
		name             string
		mod              func(c *Config, url string)
		wantPath, wantAu string
	}{
		{"default space, basic auth", func(c *Config, u string) { c.URL, c.Username, c.PasswordFile = u, "flowship", pw },
			"/api/saved_objects/_import", "Basic " + base64.StdEncoding.EncodeToString([]byte("flowship:s3cret"))},
		{"space and api key", func(c *Config, u string) { c.URL, c.Space, c.APIKeyFile = u, "ops", key },
			"/s/ops/api/saved_objects/_import", "ApiKey a2V5OnNlY3JldA=="},
		{"explicit default space, base path, no auth", func(c *Config, u string) { c.URL, c.Space = u+"/kibana/", "default" },
			"/kibana/api/saved_objects/_import", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, srv := newFakeKibana(t, answer{200, okBody})
			cfg := DefaultConfig()
			tc.mod(&cfg, srv.URL)
			res, err := Import(context.Background(), cfg, objects)
			if err != nil {
				t.Fatal(err)
			}
			if res.Imported != n || res.Sent != n {
				t.Errorf("result %+v, want %d imported and sent", res, n)
			}
			got := k.last(t)
			want := received{Method: "POST", Path: tc.wantPath, Query: "overwrite=true", XSRF: "true", Auth: tc.wantAu, FileName: "flowship.ndjson", File: objects}
			if got.Method != want.Method || got.Path != want.Path || got.Query != want.Query || got.XSRF != want.XSRF ||
				got.Auth != want.Auth || got.FileName != want.FileName || string(got.File) != string(want.File) {
				t.Errorf("received %+v (file %d bytes)\nwant %+v (file %d bytes)", got.head(), len(got.File), want.head(), len(want.File))
			}
		})
	}
}

func (r received) head() received { r.File = nil; return r }

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestImportRefusedObjectsAreNamed(t *testing.T) {
	body := `{"success":false,"successCount":30,"errors":[
	 {"id":"flowship-dns-rcodes","type":"visualization","meta":{"title":"[flowship] Response codes"},"error":{"type":"missing_references","references":[{"type":"index-pattern","id":"flowship-dns"}]}},
	 {"id":"flowship-flow-overview","type":"dashboard","title":"[flowship] Flow overview","error":{"type":"unknown","message":"boom","statusCode":500}}]}`
	k, srv := newFakeKibana(t, answer{200, body})
	cfg := DefaultConfig()
	cfg.URL = srv.URL
	_, err := Import(context.Background(), cfg, Objects())
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want an *ImportError", err)
	}
	if ie.Imported != 30 || len(ie.Objects) != 2 {
		t.Fatalf("ImportError %+v", ie)
	}
	want := []ObjectError{
		{Type: "visualization", ID: "flowship-dns-rcodes", Title: "[flowship] Response codes", Reason: "missing_references, needs index-pattern flowship-dns"},
		{Type: "dashboard", ID: "flowship-flow-overview", Title: "[flowship] Flow overview", Reason: "unknown, boom"},
	}
	for i := range want {
		if ie.Objects[i] != want[i] {
			t.Errorf("object %d = %+v, want %+v", i, ie.Objects[i], want[i])
		}
	}
	for _, s := range []string{"flowship-dns-rcodes", "needs index-pattern flowship-dns", "flowship-flow-overview"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q lacks %q", err, s)
		}
	}
	if k.calls.Load() != 1 {
		t.Errorf("refused objects were retried: %d calls", k.calls.Load())
	}
}

func TestImportStatusHandling(t *testing.T) {
	ok := answer{200, `{"success":true,"successCount":1}`}
	tests := []struct {
		name      string
		answers   []answer
		attempts  int
		wantCalls int32
		wantErr   string // "" means success
	}{
		{"starting kibana then ok", []answer{{503, `{"statusCode":503,"error":"Service Unavailable","message":"Kibana server is not ready yet"}`}, ok}, 3, 2, ""},
		{"overloaded then ok", []answer{{429, `{}`}, {502, `bad gateway`}, ok}, 3, 3, ""},
		{"never ready", []answer{{503, `{"message":"Kibana server is not ready yet"}`}}, 2, 2, "gave up after 2 attempts: kibana: 503"},
		{"unauthorized", []answer{{401, `{"statusCode":401,"error":"Unauthorized","message":"[security_exception] missing authentication"}`}}, 5, 1, "check kibana.username"},
		{"forbidden", []answer{{403, `{"message":"Unable to bulk_create"}`}}, 5, 1, "saved-objects management privilege"},
		{"no such space", []answer{{404, `{"message":"Not Found"}`}}, 5, 1, "that kibana.space exists"},
		{"bad request", []answer{{400, `{"statusCode":400,"error":"Bad Request","message":"Invalid file extension .json"}`}}, 5, 1, "Bad Request Invalid file extension .json"},
		{"not kibana", []answer{{200, `<html>proxy login</html>`}}, 5, 1, "is kibana.url pointing at Kibana?"},
		{"json but not a result", []answer{{200, `{"ok":true}`}}, 5, 1, "not a saved-objects import result"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, srv := newFakeKibana(t, tc.answers...)
			cfg := DefaultConfig()
			cfg.URL, cfg.Attempts = srv.URL, tc.attempts
			res, err := Import(context.Background(), cfg, []byte(`{"type":"index-pattern","id":"a","attributes":{"title":"a"}}`+"\n"))
			switch {
			case tc.wantErr == "" && (err != nil || res.Imported != 1):
				t.Errorf("res %+v, err %v; want success", res, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			if got := k.calls.Load(); got != tc.wantCalls {
				t.Errorf("%d requests, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestImportUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	cfg := DefaultConfig()
	cfg.URL, cfg.Attempts = url, 2
	_, err := Import(context.Background(), cfg, Objects())
	if err == nil || !strings.Contains(err.Error(), "gave up after 2 attempts") || !strings.Contains(err.Error(), "check kibana.url") {
		t.Errorf("err = %v", err)
	}
}

func TestImportCanceled(t *testing.T) {
	_, srv := newFakeKibana(t, answer{503, `{}`})
	cfg := DefaultConfig()
	cfg.URL, cfg.Attempts = srv.URL, 1000
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Import(ctx, cfg, Objects()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's error", err)
	}
}

func TestImportRejectsBeforeSending(t *testing.T) {
	k, srv := newFakeKibana(t, answer{200, `{"success":true,"successCount":0}`})
	empty := writeFile(t, "empty", "\n")
	tests := []struct {
		name    string
		mod     func(*Config)
		objects []byte
		wantErr string
	}{
		{"invalid config", func(c *Config) { c.Attempts = 0 }, Objects(), "kibana.attempts"},
		{"no objects", func(*Config) {}, []byte("\n \n"), "no objects to import"},
		{"empty password file", func(c *Config) { c.Username, c.PasswordFile = "u", empty }, Objects(), "kibana.password_file: the secret is empty"},
		{"ca file without certificates", func(c *Config) { c.CAFile = empty }, Objects(), "holds no PEM certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.URL = srv.URL
			tc.mod(&cfg)
			if _, err := Import(context.Background(), cfg, tc.objects); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
	if n := k.calls.Load(); n != 0 {
		t.Errorf("%d requests sent for rejected imports", n)
	}
}

func TestImportTrustsCAFile(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"success":true,"successCount":1}`)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake below is expected
	srv.StartTLS()
	defer srv.Close()
	ca := writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	objects := []byte(`{"type":"index-pattern","id":"a","attributes":{"title":"a"}}` + "\n")

	cfg := DefaultConfig()
	cfg.URL, cfg.Attempts = srv.URL, 1
	if _, err := Import(context.Background(), cfg, objects); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: err = %v, want a certificate error", err)
	}
	cfg.CAFile = ca
	if res, err := Import(context.Background(), cfg, objects); err != nil || res.Imported != 1 {
		t.Errorf("with the CA: res %+v, err %v", res, err)
	}
}

func FuzzParseImportResponse(f *testing.F) {
	f.Add([]byte(`{"success":true,"successCount":3}`))
	f.Add([]byte(`{"success":false,"successCount":0,"errors":[{"id":"a","type":"b","error":{"type":"conflict"}}]}`))
	f.Add([]byte(`{"success":false,"errors":[{"error":"weird"}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := parseImportResponse(body)
		if err == nil {
			var r struct {
				Success      bool `json:"success"`
				SuccessCount int  `json:"successCount"`
			}
			if json.Unmarshal(body, &r) != nil || !r.Success || res.Imported != r.SuccessCount {
				t.Errorf("accepted %q as %+v", body, res)
			}
			return
		}
		if !pipeline.IsPermanent(err) {
			t.Errorf("a 200 answer's error must be permanent: %v", err)
		}
		var ie *ImportError
		if errors.As(err, &ie) && len(ie.Objects) == 0 {
			t.Errorf("ImportError names no object for %q", body)
		}
	})
}
