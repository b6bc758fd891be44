package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	saToken      = "eyJhbGciOiJSUzI1NiIsImtpZCI6InNob3AifQ.my-sa.sig"
	adminToken   = "admin-token"
	revokedToken = "eyJhbGciOiJSUzI1NiIsImtpZCI6InNob3AifQ.revoked.sig"
	ownToken     = "flowship-ui-sa-token"
)

// longToken is accepted like saToken but is too long for a session cookie.
var longToken = saToken + strings.Repeat("x", 3000)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "kube", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeAPIServer serves the answers in testdata/kube (recorded from real
// API servers where its README says so). Its RBAC is ours: my-sa (the
// recorded service account default:my-sa, bound in namespace shop) may
// list pods and networksets and get networkpolicies in namespace shop, and
// get tier "default"; kubernetes-admin may do everything cluster-wide. A
// namespaced question it denies is answered with the "no opinion" denial,
// a cluster-wide one with the explicit denial. It checks every request's
// shape and counts the calls. fail, when set, replaces every answer
// (an API server that errs).
type fakeAPIServer struct {
	t       *testing.T
	srv     *httptest.Server
	calls   atomic.Int64
	mu      sync.Mutex
	revoked map[string]bool
	sars    []resourceAttributes
	forbid  bool
	fail    http.HandlerFunc
}

func newFakeAPIServer(t *testing.T) *fakeAPIServer {
	f := &fakeAPIServer{t: t, revoked: map[string]bool{revokedToken: true}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPIServer) revoke(tok string) { f.mu.Lock(); f.revoked[tok] = true; f.mu.Unlock() }

func (f *fakeAPIServer) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if f.fail != nil {
		f.fail(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+ownToken {
		w.WriteHeader(401)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if f.forbid {
		w.WriteHeader(403)
		_, _ = w.Write(fixture(f.t, "status-forbidden.json"))
		return
	}
	body, _ := io.ReadAll(r.Body)
	switch r.Method + " " + r.URL.Path {
	case "POST /apis/authentication.k8s.io/v1/tokenreviews":
		var in tokenReview
		if err := json.Unmarshal(body, &in); err != nil || in.Kind != "TokenReview" || in.APIVersion != "authentication.k8s.io/v1" {
			f.t.Errorf("bad TokenReview request %s", body)
		}
		f.mu.Lock()
		revoked := f.revoked[in.Spec.Token]
		f.mu.Unlock()
		switch {
		case revoked || (in.Spec.Token != saToken && in.Spec.Token != longToken && in.Spec.Token != adminToken):
			_, _ = w.Write(fixture(f.t, "tokenreview-invalidated.json"))
		case in.Spec.Token == saToken || in.Spec.Token == longToken:
			_, _ = w.Write(fixture(f.t, "tokenreview-authenticated.json"))
		default:
			_, _ = w.Write(fixture(f.t, "tokenreview-admin.json"))
		}
	case "POST /apis/authorization.k8s.io/v1/subjectaccessreviews":
		var in subjectAccessReview
		if err := json.Unmarshal(body, &in); err != nil || in.Kind != "SubjectAccessReview" || in.Spec.ResourceAttributes == nil {
			f.t.Errorf("bad SubjectAccessReview request %s", body)
			return
		}
		ra := *in.Spec.ResourceAttributes
		f.mu.Lock()
		f.sars = append(f.sars, ra)
		f.mu.Unlock()
		switch {
		case f.allow(in.Spec, ra):
			_, _ = w.Write(fixture(f.t, "sar-allowed.json"))
		case ra.Namespace != "":
			_, _ = w.Write(fixture(f.t, "sar-denied-reason.json"))
		default:
			_, _ = w.Write(fixture(f.t, "sar-denied-explicit.json"))
		}
	case "GET /api/v1/namespaces":
		_, _ = w.Write(fixture(f.t, "namespaces.json"))
	case "GET /apis/projectcalico.org/v3/tiers":
		_, _ = w.Write(fixture(f.t, "tiers.json"))
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		w.WriteHeader(404)
	}
}

func (f *fakeAPIServer) allow(s subjectAccessReviewSpec, ra resourceAttributes) bool {
	switch s.User {
	case "kubernetes-admin":
		return true
	case "system:serviceaccount:default:my-sa":
		// The SAR must carry the reviewed user's groups, uid and extra
		// (as recorded in tokenreview-authenticated.json).
		if s.UID != "f8b4161b-2e2b-11e9-86b7-2afc33b31a7e" || len(s.Groups) != 3 || len(s.Extra["authentication.kubernetes.io/pod-name"]) != 1 {
			f.t.Errorf("SAR without the user's uid/groups/extra: %+v", s)
		}
		key := fmt.Sprintf("%s %s/%s ns=%s name=%s", ra.Verb, ra.Group, ra.Resource, ra.Namespace, ra.Name)
		switch key {
		case "list /pods ns=shop name=", "list projectcalico.org/networksets ns=shop name=",
			"get projectcalico.org/networkpolicies ns=shop name=", "get projectcalico.org/tiers ns= name=default":
			return true
		}
	}
	return false
}

func kubeAuth(t *testing.T, api *fakeAPIServer) (*Authenticator, *clock) {
	cfg := DefaultConfig()
	cfg.Mode = ModeKubernetes
	cfg.CacheTTL = 30 * time.Second
	return newTestAuth(t, cfg, Options{Listen: ":9090", Kube: NewKubeClientForTest(api.srv.URL, api.srv.Client(), ownToken)}, nil)
}

func TestKubeAccessFromSubjectAccessReviews(t *testing.T) {
	api := newFakeAPIServer(t)
	a, _ := kubeAuth(t, api)
	srv := testServer(t, a)
	s := signIn(t, srv.URL, `{"token":"`+saToken+`"}`)
	var got Principal
	b, _ := json.Marshal(s.who)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// Expected from the fake's RBAC above, by hand.
	want := Access{Pods: SomeNamespaces("shop"), NetworkSets: SomeNamespaces("shop"),
		Policies: PolicyAccess{Namespaces: SomeNamespaces("shop"), Tiers: SomeNamespaces("default")}}
	if got.Name != "system:serviceaccount:default:my-sa" || !reflect.DeepEqual(got.Access, want) {
		t.Errorf("principal %s %+v\nwant access %+v", got.Name, got.Access, want)
	}
	// 7 cluster-wide questions, 3 per namespace (4 namespaces), 1 per tier (4 tiers).
	if n := len(api.sars); n != 7+3*4+4 {
		t.Errorf("%d SubjectAccessReviews, want 23", n)
	}
	p := &Principal{Access: got.Access}
	if RedactPolicy(p, "0|security|shop/security.p|allow|0") != "0|*|*|allow|*" || RedactPolicy(p, "0|default|shop/default.p|allow|0") != "0|default|shop/default.p|allow|0" {
		t.Error("tier access not applied to policy names")
	}

	admin := signIn(t, srv.URL, `{"token":"`+adminToken+`"}`)
	if !strings.Contains(fmt.Sprint(admin.who["access"]), "all:true") {
		t.Errorf("admin access %v", admin.who["access"])
	}
	if n := len(api.sars); n != 23+7 {
		t.Errorf("admin needed %d more SubjectAccessReviews, want only the 7 cluster-wide", n-23)
	}
}

func TestKubeCacheAndRevocation(t *testing.T) {
	api := newFakeAPIServer(t)
	a, clk := kubeAuth(t, api)
	srv := testServer(t, a)
	s := signIn(t, srv.URL, `{"token":"`+saToken+`"}`)

	calls := api.calls.Load()
	if got := do(t, "GET", srv.URL+"/api/data", "", nil, s.session); got.status != 200 {
		t.Fatalf("%d %s", got.status, got.body)
	}
	if api.calls.Load() != calls {
		t.Error("a request within cache_ttl asked the API server")
	}

	// Revoked: within cache_ttl the decision stands; after it, 401 and the session is gone.
	api.revoke(saToken)
	clk.add(30 * time.Second)
	assertNoData(t, "revoked token after cache_ttl", do(t, "GET", srv.URL+"/api/data", "", nil, s.session), 401)
	assertNoData(t, "the same session again", do(t, "GET", srv.URL+"/api/data", "", nil, s.session), 401)
	// An API server that is down: TestKubeAPIServerFailuresDeny.
}

func TestKubeBearerHeader(t *testing.T) {
	api := newFakeAPIServer(t)
	a, clk := kubeAuth(t, api)
	srv := testServer(t, a)
	hdr := map[string]string{"Authorization": "Bearer " + saToken}
	got := do(t, "GET", srv.URL+"/api/data", "", hdr)
	if got.status != 200 || !strings.Contains(got.body, `"source_namespace":["shop"]`) {
		t.Fatalf("bearer request: %d %s", got.status, got.body)
	}
	calls := api.calls.Load()
	do(t, "GET", srv.URL+"/api/data", "", hdr)
	if api.calls.Load() != calls {
		t.Error("the second bearer request within cache_ttl asked the API server")
	}
	assertNoData(t, "revoked bearer", do(t, "GET", srv.URL+"/api/data", "", map[string]string{"Authorization": "Bearer " + revokedToken}), 401)
	api.revoke(saToken)
	clk.add(30 * time.Second)
	assertNoData(t, "bearer revoked after cache_ttl", do(t, "GET", srv.URL+"/api/data", "", hdr), 401)
	// A pasted token that is revoked fails sign-in like a wrong password.
	if got := do(t, "POST", srv.URL+"/auth/signin", `{"token":"`+revokedToken+`"}`, nil); got.status != 401 {
		t.Errorf("sign-in with a revoked token: %d", got.status)
	}
}

func TestKubeServiceAccountForbidden(t *testing.T) {
	api := newFakeAPIServer(t)
	api.forbid = true
	a, _ := kubeAuth(t, api)
	logs := &syncBuffer{}
	a.log = newTextLogger(logs)
	srv := testServer(t, a)
	got := do(t, "POST", srv.URL+"/auth/signin", `{"token":"`+saToken+`"}`, nil)
	if got.status != 503 {
		t.Errorf("flowship's account forbidden: %d %s, want 503", got.status, got.body)
	}
	if !strings.Contains(logs.String(), "cannot create resource") || !strings.Contains(logs.String(), "docs/security.md") {
		t.Errorf("log does not say what to fix:\n%s", logs)
	}
	if strings.Contains(logs.String(), saToken) {
		t.Error("the token reached the log")
	}
}

// TestKubeRecordedAnswers reads each recorded answer through the client:
// what it must conclude is written here by hand from the files.
func TestKubeRecordedAnswers(t *testing.T) {
	serve := func(name string) *KubeClient {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(fixture(t, name))
		}))
		t.Cleanup(srv.Close)
		return NewKubeClientForTest(srv.URL, srv.Client(), ownToken)
	}
	ctx := t.Context()

	u, err := serve("tokenreview-authenticated.json").reviewToken(ctx, "tok")
	if err != nil || u.Username != "system:serviceaccount:default:my-sa" || u.UID != "f8b4161b-2e2b-11e9-86b7-2afc33b31a7e" ||
		!reflect.DeepEqual(u.Groups, []string{"system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"}) ||
		!reflect.DeepEqual(u.Extra["authentication.kubernetes.io/pod-name"], []string{"test-pod"}) || len(u.Extra) != 5 {
		t.Errorf("authenticated review: %+v, %v", u, err)
	}
	for name, reason := range map[string]string{
		"tokenreview-invalidated.json":     "[invalid bearer token, Token has been invalidated]",
		"tokenreview-expired-webhook.json": "Credentials are expired",
	} {
		u, err := serve(name).reviewToken(ctx, "tok")
		if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), reason) || u.Username != "" {
			t.Errorf("%s: %+v, %v; want ErrUnauthenticated naming %q", name, u, err, reason)
		}
	}
	for name, want := range map[string]bool{
		"sar-allowed.json": true, "sar-allowed-bare.json": true,
		"sar-denied-reason.json": false, "sar-denied-explicit.json": false,
	} {
		got, err := serve(name).allowed(ctx, userInfo{Username: "u"}, resourceAttributes{Verb: "list", Resource: "pods"})
		if err != nil || got != want {
			t.Errorf("%s: allowed %v, %v; want %v", name, got, err, want)
		}
	}
}

// TestKubeAPIServerFailuresDeny: an API server that is down or answers an
// error or garbage denies sign-in, bearer requests and rechecks with 503,
// and never lets data through.
func TestKubeAPIServerFailuresDeny(t *testing.T) {
	cases := []struct {
		name string
		fail http.HandlerFunc
	}{
		{"down", nil},
		{"500 Status", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(500)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Internal error occurred: etcdserver: request timed out","reason":"InternalError","code":500}`))
		}},
		{"503 HTML", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(503)
			_, _ = w.Write([]byte("<html><body>503 Service Unavailable</body></html>"))
		}},
		{"200 garbage", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>login</html>")) }},
		{"200 truncated", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write(fixture(t, "tokenreview-authenticated.json")[:80])
		}},
		{"200 empty", func(w http.ResponseWriter, _ *http.Request) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api := newFakeAPIServer(t)
			a, clk := kubeAuth(t, api)
			srv := testServer(t, a)
			s := signIn(t, srv.URL, `{"token":"`+saToken+`"}`)
			if c.fail == nil {
				api.srv.Close()
			} else {
				api.fail = c.fail
			}
			clk.add(30 * time.Second)
			assertNoData(t, "recheck", do(t, "GET", srv.URL+"/api/data", "", nil, s.session), 503)
			got := do(t, "POST", srv.URL+"/auth/signin", `{"token":"`+adminToken+`"}`, nil)
			if got.status != 503 || got.header.Get("Set-Cookie") != "" {
				t.Errorf("sign-in: %d %s, want 503 without a cookie", got.status, got.body)
			}
			assertNoData(t, "bearer", do(t, "GET", srv.URL+"/api/data", "", map[string]string{"Authorization": "Bearer " + adminToken}), 503)
		})
	}
}
