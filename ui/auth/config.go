package auth

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Modes of ui.auth.mode.
const (
	// ModeElasticsearch signs people in with their Elasticsearch user and
	// runs their queries as that user.
	ModeElasticsearch = "elasticsearch"
	// ModeKubernetes verifies a Kubernetes bearer token (TokenReview) and
	// decides access with SubjectAccessReviews.
	ModeKubernetes = "kubernetes"
	// ModeNone lets everyone see everything; allowed on a loopback listen
	// address only (the local demo).
	ModeNone = "none"
)

// Config is the "ui.auth" section. Durations are YAML strings ("8h").
type Config struct {
	// Mode is elasticsearch, kubernetes or none. Default "none", which
	// Validate accepts only with a loopback ui.listen: any other listen
	// address must choose a real mode.
	Mode string `yaml:"mode"`
	// SessionTTL is how long a sign-in lasts (absolute, not idle). Default 8h.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// CacheTTL is how long a kubernetes-mode access decision (TokenReview and
	// SubjectAccessReviews) is reused before it is asked again. Default 1m.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// MaxFailures failed sign-ins per FailureWindow, per client address and
	// per user name, after which sign-ins answer 429 until the window
	// passes. Default 5 per 1m.
	MaxFailures   int           `yaml:"max_failures"`
	FailureWindow time.Duration `yaml:"failure_window"`
	// SessionKeyFile holds the keys that seal the session cookies
	// (LoadSessionKeys: base64 of 32 bytes a line, the first seals, all
	// open). Replicas that share the file accept each other's sessions.
	// Empty: a random key per process, so sessions are valid on this
	// process only and end when it restarts.
	SessionKeyFile string `yaml:"session_key_file"`
	// MaxSessions caps what each replica keeps in memory: the signed-out
	// session ids and the cached kubernetes-mode decisions. Default 10000.
	MaxSessions int `yaml:"max_sessions"`
	// Kubernetes is the API server used in kubernetes mode.
	Kubernetes KubeConfig `yaml:"kubernetes"`
}

// KubeConfig locates the Kubernetes API server. The defaults are the
// in-cluster service account's.
type KubeConfig struct {
	// APIServer is the API server's base URL. Default
	// "https://kubernetes.default.svc".
	APIServer string `yaml:"api_server"`
	// CAFile is the PEM CA bundle that signs the API server's certificate.
	// Default the service account's ca.crt.
	CAFile string `yaml:"ca_file"`
	// TokenFile holds flowship's own token, which needs create on
	// tokenreviews and subjectaccessreviews and list on namespaces and
	// tiers (docs/security.md). Default the service account's token; read
	// on every call so a rotated token is picked up.
	TokenFile string `yaml:"token_file"`
	// Timeout bounds one API server call. Default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency is how many SubjectAccessReviews run at once while one
	// user's access is computed. Default 8.
	Concurrency int `yaml:"concurrency"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Mode:          ModeNone,
		SessionTTL:    8 * time.Hour,
		CacheTTL:      time.Minute,
		MaxFailures:   5,
		FailureWindow: time.Minute,
		MaxSessions:   10000,
		Kubernetes: KubeConfig{
			APIServer:   "https://kubernetes.default.svc",
			CAFile:      "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
			TokenFile:   "/var/run/secrets/kubernetes.io/serviceaccount/token",
			Timeout:     5 * time.Second,
			Concurrency: 8,
		},
	}
}

// Validate reports every invalid field, naming its key. listen is
// ui.listen: mode none is refused unless it is a loopback address.
func (c Config) Validate(listen string) error {
	var errs []error
	switch c.Mode {
	case ModeElasticsearch, ModeKubernetes:
	case ModeNone:
		if !IsLoopback(listen) {
			errs = append(errs, fmt.Errorf("ui.auth.mode none: ui.listen %q is not a loopback address; "+
				"mode none shows every flow to anyone who can connect, so it is allowed on 127.0.0.1/::1/localhost only "+
				"(choose ui.auth.mode elasticsearch or kubernetes)", listen))
		}
	default:
		errs = append(errs, fmt.Errorf("ui.auth.mode %q: want elasticsearch, kubernetes or none", c.Mode))
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, fmt.Errorf("ui.auth.session_ttl %v: must be at least 1m", c.SessionTTL))
	}
	if c.CacheTTL < 0 || c.CacheTTL > c.SessionTTL {
		errs = append(errs, fmt.Errorf("ui.auth.cache_ttl %v: must be between 0 and session_ttl (%v)", c.CacheTTL, c.SessionTTL))
	}
	if c.MaxFailures < 1 {
		errs = append(errs, fmt.Errorf("ui.auth.max_failures %d: must be at least 1", c.MaxFailures))
	}
	if c.FailureWindow < time.Second {
		errs = append(errs, fmt.Errorf("ui.auth.failure_window %v: must be at least 1s", c.FailureWindow))
	}
	if c.MaxSessions < 1 {
		errs = append(errs, fmt.Errorf("ui.auth.max_sessions %d: must be at least 1", c.MaxSessions))
	}
	if c.Mode == ModeKubernetes {
		k := c.Kubernetes
		if !strings.HasPrefix(k.APIServer, "https://") && !strings.HasPrefix(k.APIServer, "http://") {
			errs = append(errs, fmt.Errorf("ui.auth.kubernetes.api_server %q: want an http(s):// URL", k.APIServer))
		}
		if k.Timeout <= 0 {
			errs = append(errs, fmt.Errorf("ui.auth.kubernetes.timeout %v: must be positive", k.Timeout))
		}
		if k.Concurrency < 1 || k.Concurrency > 64 {
			errs = append(errs, fmt.Errorf("ui.auth.kubernetes.concurrency %d: must be 1..64", k.Concurrency))
		}
		if k.TokenFile == "" {
			errs = append(errs, errors.New("ui.auth.kubernetes.token_file: must be set (flowship's own token for TokenReview/SubjectAccessReview)"))
		}
	}
	return errors.Join(errs...)
}

// IsLoopback reports whether the listen address host:port binds to a
// loopback address only ("localhost", 127.0.0.0/8, ::1). An empty host
// (":9090", all interfaces) is not loopback.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RBAC is the "ui.rbac" section used in elasticsearch mode: Elasticsearch
// role name → the namespaces its holders may see, or "all".
//
//	rbac:
//	  flowship_ui_shop: [shop, shop-staging]
//	  flowship_ui_all: all
//
// A user's access is the union over their roles; roles not listed grant
// nothing (the user signs in and sees no flows).
type RBAC map[string]Grant

// Grant is one role's access: every namespace (All) or a list.
type Grant struct {
	All        bool
	Namespaces []string
}

// UnmarshalYAML accepts the scalar "all" or a sequence of namespace names.
func (g *Grant) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != "all" {
			return fmt.Errorf("line %d: %q: want \"all\" or a list of namespaces", n.Line, n.Value)
		}
		*g = Grant{All: true}
		return nil
	case yaml.SequenceNode:
		var ns []string
		if err := n.Decode(&ns); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		*g = Grant{Namespaces: ns}
		return nil
	}
	return fmt.Errorf("line %d: want \"all\" or a list of namespaces", n.Line)
}

// MarshalYAML writes the form UnmarshalYAML reads.
func (g Grant) MarshalYAML() (any, error) {
	if g.All {
		return "all", nil
	}
	return g.Namespaces, nil
}

// Validate reports empty role names and namespace names that Kubernetes
// would not accept (RFC 1123 labels, at most 63 characters).
func (r RBAC) Validate() error {
	var errs []error
	roles := make([]string, 0, len(r))
	for role := range r {
		roles = append(roles, role)
	}
	sort.Strings(roles)
	for _, role := range roles {
		if strings.TrimSpace(role) == "" {
			errs = append(errs, errors.New("ui.rbac: empty role name"))
		}
		for _, ns := range r[role].Namespaces {
			if !validNamespace(ns) {
				errs = append(errs, fmt.Errorf("ui.rbac.%s: namespace %q is not a Kubernetes namespace name (lower-case letters, digits, '-', at most 63)", role, ns))
			}
		}
	}
	return errors.Join(errs...)
}

func validNamespace(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
