package auth

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// session is one sign-in, held server-side only; the browser holds its
// random id in an HttpOnly cookie.
type session struct {
	id      string
	csrf    string // the double-submit token state-changing requests must echo
	created time.Time
	expires time.Time
	// secret is what re-verifies the person: the Kubernetes token
	// (kubernetes mode). Never logged, never sent to the browser.
	secret string

	mu        sync.Mutex // guards principal and checked
	principal *Principal
	checked   time.Time // when principal was last decided (kubernetes mode)
}

func (s *session) current() (*Principal, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.principal, s.checked
}

func (s *session) update(p *Principal, at time.Time) {
	s.mu.Lock()
	s.principal, s.checked = p, at
	s.mu.Unlock()
}

// sessionStore maps session ids to sessions. Safe for concurrent use; no
// call leaves the store while its lock is held.
type sessionStore struct {
	mu   sync.Mutex
	byID map[string]*session
	max  int
}

func newSessionStore(max int) *sessionStore {
	return &sessionStore{byID: map[string]*session{}, max: max}
}

// randomID returns 32 random bytes, base64url: the session ids and CSRF
// tokens.
func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// add stores s, first dropping expired sessions and, at the cap, the
// oldest one.
func (st *sessionStore) add(s *session, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.byID) >= st.max {
		var oldest *session
		for id, o := range st.byID {
			if !now.Before(o.expires) {
				delete(st.byID, id)
				continue
			}
			if oldest == nil || o.created.Before(oldest.created) {
				oldest = o
			}
		}
		if len(st.byID) >= st.max && oldest != nil {
			delete(st.byID, oldest.id)
		}
	}
	st.byID[s.id] = s
}

// get returns the live session with id, or nil (unknown or expired; an
// expired one is removed).
func (st *sessionStore) get(id string, now time.Time) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.byID[id]
	if s == nil {
		return nil
	}
	if !now.Before(s.expires) {
		delete(st.byID, id)
		return nil
	}
	return s
}

func (st *sessionStore) remove(id string) {
	st.mu.Lock()
	delete(st.byID, id)
	st.mu.Unlock()
}

func (st *sessionStore) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.byID)
}
