package auth

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Mount registers the sign-in, sign-out and whoami handlers on mux under
// base (ui.base_path, ending in '/'):
//
//	POST base+"auth/signin"   {"username","password"} or {"token"} → 200 whoami, cookies set
//	POST base+"auth/signout"  (session + CSRF header) → 204, cookies cleared
//	GET  base+"auth/whoami"   (session) → {"name","mode","roles","access","csrf_token"}
//
// The API itself goes through Require.
func (a *Authenticator) Mount(mux *http.ServeMux, base string) {
	mux.HandleFunc("POST "+base+"auth/signin", a.handleSignIn)
	mux.Handle("POST "+base+"auth/signout", a.Require(http.HandlerFunc(a.handleSignOut)))
	mux.Handle("GET "+base+"auth/whoami", a.Require(http.HandlerFunc(a.handleWhoAmI)))
}

// whoami is the answer of sign-in and whoami.
type whoami struct {
	*Principal
	CSRFToken string `json:"csrf_token,omitempty"`
}

func (a *Authenticator) handleWhoAmI(w http.ResponseWriter, r *http.Request) {
	out := whoami{Principal: FromContext(r.Context())}
	if s, _ := a.session(r); s != nil {
		out.CSRFToken = s.CSRF
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *Authenticator) handleSignOut(w http.ResponseWriter, r *http.Request) {
	if s, _ := a.session(r); s != nil {
		// The browser drops the cookie; this replica refuses a copy of it
		// until it expires. Other replicas cannot know (docs/security.md).
		a.out.add(s.ID, time.Unix(s.Expires, 0), a.now())
		a.log.Info("ui: signed out", "user", s.Name, "session", shortID(s.ID))
	}
	a.setCookies(w, "", "", -1)
	w.WriteHeader(http.StatusNoContent)
}

func (a *Authenticator) countSignIn(r *http.Request, result string) {
	a.signIns.Add(r.Context(), 1, metric.WithAttributes(attribute.String("result", result)))
}

// handleSignIn verifies the credentials of a JSON body. Failures are
// counted, logged with the user name and client address (never the
// password or token) and, past max_failures per window for the address
// or the user, answered 429 before the identity provider is asked.
func (a *Authenticator) handleSignIn(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Mode == ModeNone {
		writeJSON(w, http.StatusOK, whoami{Principal: &Principal{Name: "anonymous", Mode: ModeNone, Access: FullAccess()}})
		return
	}
	if err := a.origin.Check(r); err != nil {
		a.countSignIn(r, "bad_request")
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-origin sign-in refused"})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		a.countSignIn(r, "bad_request")
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "sign-in wants Content-Type: application/json"})
		return
	}
	var c credentials
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		a.countSignIn(r, "bad_request")
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "sign-in body: want {\"username\",\"password\"} or {\"token\"}"})
		return
	}
	if tok, ok := bearer(r); ok && c.Token == "" {
		c.Token = tok
	}
	client := clientAddr(r)
	keys := []string{"addr:" + client}
	if c.Username != "" {
		keys = append(keys, "user:"+c.Username)
	}
	now := a.now()
	for _, k := range keys {
		if blocked, wait := a.limiter.blocked(k, now); blocked {
			a.countSignIn(r, "limited")
			a.log.Warn("ui: sign-in refused: too many failures", "user", c.Username, "client", client)
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too many failed sign-ins; try again later"})
			return
		}
	}
	p, secret, err := a.v.signIn(r.Context(), c)
	if err != nil {
		var un errUnavailable
		if errors.As(err, &un) {
			a.countSignIn(r, "unavailable")
			a.log.Error("ui: sign-in impossible: identity provider unavailable", "user", c.Username, "client", client, "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "cannot verify sign-ins right now; try again"})
			return
		}
		for _, k := range keys {
			a.limiter.fail(k, now)
		}
		a.countSignIn(r, "failed")
		a.log.Warn("ui: sign-in failed", "user", c.Username, "client", client, "reason", err)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign-in failed"})
		return
	}
	if old, _ := a.session(r); old != nil {
		a.out.add(old.ID, time.Unix(old.Expires, 0), now) // a sign-in always starts a fresh session
	}
	s := &session{ID: randomID(), CSRF: randomID(), Mode: a.cfg.Mode, Created: now.Unix(),
		Expires: now.Add(a.cfg.SessionTTL).Unix(), Name: p.Name, Roles: p.Roles, Secret: secret}
	value, err := a.sealer.sealSession(s)
	if err == nil && len(value) > maxCookie {
		err = fmt.Errorf("the session cookie would be %d bytes, more than browsers keep", len(value))
	}
	if err != nil {
		a.countSignIn(r, "bad_request")
		a.log.Warn("ui: sign-in refused", "user", p.Name, "client", client, "err", err)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "cannot hold this sign-in in a cookie (token too long?); send it as an Authorization header instead"})
		return
	}
	if a.cfg.Mode == ModeKubernetes {
		a.tokens.put(secret, p, now) // the first requests need not ask the API server again
	}
	a.setCookies(w, value, s.CSRF, int(a.cfg.SessionTTL.Seconds()))
	a.countSignIn(r, "ok")
	a.log.Info("ui: signed in", "user", p.Name, "client", client, "mode", p.Mode)
	writeJSON(w, http.StatusOK, whoami{Principal: p, CSRFToken: s.CSRF})
}

// setCookies sets (maxAge > 0) or clears (maxAge < 0) both cookies.
func (a *Authenticator) setCookies(w http.ResponseWriter, id, csrf string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: a.basePath, MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: csrf, Path: a.basePath, MaxAge: maxAge,
		Secure: true, SameSite: http.SameSiteStrictMode})
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(h[7:])
	return tok, tok != ""
}

// clientAddr is the host part of r.RemoteAddr (behind a reverse proxy,
// the proxy's: the per-user limit still holds then).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func constantTimeEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
