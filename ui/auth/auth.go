package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/flowship/flowship/pipeline"
)

// Cookie names. The session cookie is HttpOnly; the CSRF cookie is
// readable by the page, which echoes it in the CSRFHeader of every
// state-changing request (double submit).
const (
	SessionCookie = "flowship_session"
	CSRFCookie    = "flowship_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// ErrUnauthenticated is a sign-in or token that the identity provider
// rejected (wrong password, revoked or expired token).
var ErrUnauthenticated = errors.New("not authenticated")

// errUnavailable wraps a failure to reach the identity provider: the
// request is denied (503), never allowed.
type errUnavailable struct{ err error }

func (e errUnavailable) Error() string { return "identity provider unavailable: " + e.err.Error() }
func (e errUnavailable) Unwrap() error { return e.err }

// credentials are what a sign-in form sends.
type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Token    string `json:"token"`
}

// verifier is one mode's identity provider.
type verifier interface {
	// signIn checks credentials and returns the principal and the secret
	// the session keeps to re-verify it ("" when none is needed).
	signIn(ctx context.Context, c credentials) (*Principal, string, error)
	// restore returns the principal of a session (the cookie holds what
	// it needs), asking the identity provider again where the mode must.
	restore(ctx context.Context, a *Authenticator, s *session) (*Principal, error)
}

// Authenticator signs people in and out, keeps their sessions and puts
// each request's Principal in its context. Create one with New per
// `flowship ui` process; it is safe for concurrent use.
type Authenticator struct {
	cfg      Config
	v        verifier
	sealer   *sealer
	out      *signedOut
	tokens   *tokenCache
	limiter  *failureLimiter
	origin   *http.CrossOriginProtection
	log      *slog.Logger
	now      func() time.Time
	basePath string

	signIns metric.Int64Counter
	denied  metric.Int64Counter
}

// Options are the dependencies of New that come from outside ui.auth.
type Options struct {
	// Listen is ui.listen (mode none requires a loopback address).
	Listen string
	// BasePath is ui.base_path: the cookies' Path.
	BasePath string
	// RBAC is ui.rbac (elasticsearch mode).
	RBAC RBAC
	// Elasticsearch verifies users in elasticsearch mode: the base URL of
	// the cluster and an HTTP client configured for it (TLS), with no
	// credentials of its own.
	Elasticsearch ESEndpoint
	// Kube replaces the Kubernetes API client (tests); nil builds one from
	// Config.Kubernetes.
	Kube *KubeClient
	// Now replaces the clock (tests); nil is time.Now.
	Now func() time.Time
}

// New validates cfg and returns the Authenticator of its mode. Mode none
// logs a warning: everyone who can connect sees every flow.
func New(cfg Config, o Options, tel pipeline.Telemetry) (*Authenticator, error) {
	if err := cfg.Validate(o.Listen); err != nil {
		return nil, err
	}
	keys := [][]byte{randomKey()}
	if cfg.SessionKeyFile != "" {
		var err error
		if keys, err = LoadSessionKeys(cfg.SessionKeyFile); err != nil {
			return nil, err
		}
	} else if cfg.Mode != ModeNone {
		tel.Logger.Info("ui.auth.session_key_file not set: sessions are sealed with a random key of this process, " +
			"valid on it alone and until it restarts; run one replica, or give every replica the same key file")
	}
	seal, err := newSealer(keys)
	if err != nil {
		return nil, fmt.Errorf("ui.auth.session_key_file: %w", err)
	}
	a := &Authenticator{
		cfg: cfg, sealer: seal, out: newSignedOut(cfg.MaxSessions), tokens: &tokenCache{m: map[[32]byte]tokenEntry{}, max: cfg.MaxSessions}, limiter: newFailureLimiter(cfg.MaxFailures, cfg.FailureWindow),
		origin: http.NewCrossOriginProtection(), log: tel.Logger, now: o.Now, basePath: o.BasePath,
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.basePath == "" {
		a.basePath = "/"
	}
	if a.signIns, err = tel.Meter.Int64Counter("flowship_ui_signins_total",
		metric.WithDescription("Sign-in attempts by result: ok, failed, limited, unavailable, bad_request.")); err != nil {
		return nil, fmt.Errorf("ui.auth: creating metric: %w", err)
	}
	if a.denied, err = tel.Meter.Int64Counter("flowship_ui_requests_denied_total",
		metric.WithDescription("API requests refused by reason: no_session, bad_session, expired, csrf, revoked, unavailable.")); err != nil {
		return nil, fmt.Errorf("ui.auth: creating metric: %w", err)
	}
	// Every series exists from the start at 0, so /metrics shows them and
	// rate() and alerts work before the first failure.
	for _, r := range []string{"ok", "failed", "limited", "unavailable", "bad_request"} {
		a.signIns.Add(context.Background(), 0, metric.WithAttributes(attribute.String("result", r)))
	}
	for _, r := range []string{"no_session", "bad_session", "expired", "csrf", "revoked", "unavailable"} {
		a.denied.Add(context.Background(), 0, metric.WithAttributes(attribute.String("reason", r)))
	}
	switch cfg.Mode {
	case ModeElasticsearch:
		if err := o.RBAC.Validate(); err != nil {
			return nil, err
		}
		if o.Elasticsearch.URL == "" {
			return nil, errors.New("ui.auth.mode elasticsearch: no Elasticsearch URL to verify users against (index.elasticsearch.addresses)")
		}
		a.v = &esVerifier{es: o.Elasticsearch, rbac: o.RBAC}
	case ModeKubernetes:
		kc := o.Kube
		if kc == nil {
			if kc, err = NewKubeClient(cfg.Kubernetes); err != nil {
				return nil, err
			}
		}
		a.v = &kubeVerifier{c: kc, concurrency: cfg.Kubernetes.Concurrency}
	case ModeNone:
		tel.Logger.Warn("ui.auth.mode is none: everyone who can connect to " + o.Listen +
			" sees every flow and policy; use it for a local demo only")
	}
	return a, nil
}

// Mode is the configured ui.auth.mode.
func (a *Authenticator) Mode() string { return a.cfg.Mode }

func (a *Authenticator) deny(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	a.denied.Add(r.Context(), 1, metric.WithAttributes(attribute.String("reason", reason)))
	writeJSON(w, status, map[string]string{"error": msg})
}

// Require wraps the API: it answers 401 without a valid session (or, in
// kubernetes mode, a valid bearer token), 403 for a state-changing
// request without the CSRF token or from another origin, 503 when the
// identity provider cannot be asked (deny, never allow), and otherwise
// calls next with the Principal in the request context (FromContext).
func (a *Authenticator) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := a.authorize(w, r)
		if !ok {
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// authorize decides r's principal or answers the refusal itself.
func (a *Authenticator) authorize(w http.ResponseWriter, r *http.Request) (*Principal, bool) {
	if a.cfg.Mode == ModeNone {
		return &Principal{Name: "anonymous", Mode: ModeNone, Access: FullAccess()}, true
	}
	if !safeMethod(r.Method) {
		if err := a.origin.Check(r); err != nil {
			a.deny(w, r, http.StatusForbidden, "csrf", "cross-origin request refused")
			return nil, false
		}
	}
	if a.cfg.Mode == ModeKubernetes {
		if tok, ok := bearer(r); ok {
			return a.authorizeBearer(w, r, tok)
		}
	}
	s, reason := a.session(r)
	if s == nil {
		a.deny(w, r, http.StatusUnauthorized, reason, "sign in first")
		return nil, false
	}
	if !safeMethod(r.Method) && !constantTimeEqual(r.Header.Get(CSRFHeader), s.CSRF) {
		a.deny(w, r, http.StatusForbidden, "csrf", "missing or wrong "+CSRFHeader+" header")
		return nil, false
	}
	p, err := a.v.restore(r.Context(), a, s)
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			a.out.add(s.ID, time.Unix(s.Expires, 0), a.now())
			a.setCookies(w, "", "", -1)
			a.log.Warn("ui: session credential no longer valid; signed out", "user", s.Name, "session", shortID(s.ID))
			a.deny(w, r, http.StatusUnauthorized, "revoked", "your token is no longer valid; sign in again")
			return nil, false
		}
		a.log.Warn("ui: cannot re-check access; request denied", "user", s.Name, "err", err)
		a.deny(w, r, http.StatusServiceUnavailable, "unavailable", "cannot verify your access right now; try again")
		return nil, false
	}
	return p, true
}

// session returns r's live session, or nil and the reason: no cookie,
// one not sealed under our keys (forged, altered, another key or mode),
// expired, or signed out on this replica.
func (a *Authenticator) session(r *http.Request) (*session, string) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, "no_session"
	}
	s := a.sealer.openSession(c.Value)
	if s == nil || s.Mode != a.cfg.Mode || a.out.has(s.ID) {
		return nil, "bad_session"
	}
	if !a.now().Before(time.Unix(s.Expires, 0)) {
		return nil, "expired"
	}
	return s, ""
}

// shortID names a session in logs without giving its whole id.
func shortID(id string) string { return id[:min(len(id), 8)] }

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
