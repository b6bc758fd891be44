package auth

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// session is one sign-in. It lives in the browser only, in the session
// cookie, sealed with AES-256-GCM under the session key (sealer): any
// replica that holds the key reads it, none can be forged or read without
// the key. Nothing of it is kept on the server but the ids of sessions
// signed out on this replica (signedOut).
type session struct {
	ID      string `json:"sid"`  // random; names the session in logs and the sign-out list
	CSRF    string `json:"csrf"` // the double-submit token state-changing requests must echo
	Mode    string `json:"mode"` // the ui.auth.mode that made it; another mode refuses it
	Created int64  `json:"iat"`  // Unix seconds
	Expires int64  `json:"exp"`  // Unix seconds: absolute end, created + session_ttl
	Name    string `json:"name"`
	// Roles are the Elasticsearch roles (elasticsearch mode), mapped to
	// access through ui.rbac on every request, so a ui.rbac change applies
	// to open sessions.
	Roles []string `json:"roles,omitempty"`
	// Secret re-verifies the person: the Authorization header of their
	// Elasticsearch queries (elasticsearch mode) or their Kubernetes token
	// (kubernetes mode). Sealed in the cookie, never logged, never sent to
	// the page.
	Secret string `json:"sec,omitempty"`
}

// maxCookie is the largest session cookie sign-in sets: browsers keep
// cookies of at most 4096 bytes, name and attributes included.
const maxCookie = 3800

// sealer seals and opens session cookies. keys[0] seals; every key opens,
// so a new key can be put first while the previous ones still open the
// cookies they sealed (rotation).
type sealer struct{ aeads []cipher.AEAD }

// cookiePrefix versions the cookie format; the additional data binds a
// sealed value to its use.
const (
	cookiePrefix = "v1."
	cookieAD     = "flowship_session v1"
)

func newSealer(keys [][]byte) (*sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no session key")
	}
	s := &sealer{}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("session key %d: %d bytes, want 32 (AES-256)", i+1, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

func (s *sealer) seal(plain []byte) string {
	a := s.aeads[0]
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plain)+a.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go ≥ 1.24)
	return cookiePrefix + base64.RawURLEncoding.EncodeToString(a.Seal(nonce, nonce, plain, []byte(cookieAD)))
}

// open returns the plaintext of a value seal made under any of the keys.
func (s *sealer) open(v string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(v, cookiePrefix)
	if !ok {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, false
	}
	for _, a := range s.aeads {
		if len(b) < a.NonceSize()+a.Overhead() {
			return nil, false
		}
		if plain, err := a.Open(nil, b[:a.NonceSize()], b[a.NonceSize():], []byte(cookieAD)); err == nil {
			return plain, true
		}
	}
	return nil, false
}

// sealSession returns the cookie value of s.
func (s *sealer) sealSession(ss *session) (string, error) {
	b, err := json.Marshal(ss)
	if err != nil {
		return "", err
	}
	return s.seal(b), nil
}

// openSession returns the session of a cookie value, or nil when it was
// not sealed under one of the keys (forged, altered, another key).
func (s *sealer) openSession(v string) *session {
	plain, ok := s.open(v)
	if !ok {
		return nil
	}
	var ss session
	if err := json.Unmarshal(plain, &ss); err != nil || ss.ID == "" || ss.CSRF == "" {
		return nil
	}
	return &ss
}

// LoadSessionKeys reads ui.auth.session_key_file: one key a line, the
// standard base64 of 32 random bytes (`head -c32 /dev/urandom | base64`);
// blank lines and lines starting with # are skipped. The first key seals
// new sessions; all of them open existing ones. To rotate, put a new key
// first and remove the old one after session_ttl.
func LoadSessionKeys(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ui.auth.session_key_file: %w", err)
	}
	var keys [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("ui.auth.session_key_file %s line %d: want the base64 of 32 bytes (head -c32 /dev/urandom | base64)", path, n)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("ui.auth.session_key_file %s: no key in it", path)
	}
	return keys, nil
}

// randomKey is a fresh 32-byte session key (no session_key_file: the
// sessions of this process are valid on it alone).
func randomKey() []byte {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return b[:]
}

// randomID returns 32 random bytes, base64url: the session ids and CSRF
// tokens.
func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// signedOut lists the sessions signed out (or replaced by a new sign-in)
// on this replica until they expire. Other replicas do not see it: there
// a copy of a signed-out cookie stays valid until it expires
// (docs/security.md). Safe for concurrent use.
type signedOut struct {
	mu  sync.Mutex
	m   map[string]time.Time // session id → its expiry
	max int
}

func newSignedOut(max int) *signedOut { return &signedOut{m: map[string]time.Time{}, max: max} }

// add records id until exp, first dropping expired entries at the cap
// (and, still at the cap, the one that expires first).
func (d *signedOut) add(id string, exp, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.m) >= d.max {
		first := ""
		for k, e := range d.m {
			if !now.Before(e) {
				delete(d.m, k)
				continue
			}
			if first == "" || e.Before(d.m[first]) {
				first = k
			}
		}
		if len(d.m) >= d.max && first != "" {
			delete(d.m, first)
		}
	}
	d.m[id] = exp
}

func (d *signedOut) has(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.m[id]
	return ok
}

func (d *signedOut) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}
