package ui

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/flowship/flowship/ui/auth"
)

// Config configures `flowship ui` (YAML section "ui"). Elasticsearch
// connection settings are the index section's (index.elasticsearch), so
// the UI reads the same read aliases the indexer's templates create.
type Config struct {
	// Listen is the HTTP listen address. Default "127.0.0.1:9090", which
	// suits `kubectl port-forward`; use ":9090" inside a pod.
	Listen string `yaml:"listen"`
	// BasePath is the URL path the UI is served under, for a reverse proxy
	// ("/flowship/"). Default "/".
	BasePath string `yaml:"base_path"`
	// TLS serves HTTPS when both files are set.
	TLS TLSConfig `yaml:"tls"`
	// MaxRange is the longest time range a request may ask for. Default
	// 90 days (720h is 30 days).
	MaxRange time.Duration `yaml:"max_range"`
	// QueryTimeout bounds one Elasticsearch query. Default 20s.
	QueryTimeout time.Duration `yaml:"query_timeout"`
	// MaxArcs caps the flow groups (arcs) one Flow Visualizer or Service
	// Graph answer holds; the answer says when it was cut. Default 5000.
	MaxArcs int `yaml:"max_arcs"`
	// Auth is who may sign in and how (docs/security.md): mode
	// elasticsearch, kubernetes or none. Default none, which Validate
	// refuses unless Listen is a loopback address.
	Auth auth.Config `yaml:"auth"`
	// RBAC maps Elasticsearch roles to the namespaces their holders see
	// (elasticsearch mode).
	RBAC auth.RBAC `yaml:"rbac"`
}

// TLSConfig holds the server certificate and key (PEM files).
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Listen:       "127.0.0.1:9090",
		BasePath:     "/",
		MaxRange:     90 * 24 * time.Hour,
		QueryTimeout: 20 * time.Second,
		MaxArcs:      5000,
		Auth:         auth.DefaultConfig(),
	}
}

// Validate reports every invalid field, naming its key.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("ui.listen %q: %v (want host:port, e.g. 127.0.0.1:9090)", c.Listen, err))
	}
	if !strings.HasPrefix(c.BasePath, "/") || !strings.HasSuffix(c.BasePath, "/") {
		errs = append(errs, fmt.Errorf("ui.base_path %q must start and end with '/'", c.BasePath))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("ui.tls: set both cert_file and key_file, or neither"))
	}
	if c.MaxRange < time.Minute {
		errs = append(errs, fmt.Errorf("ui.max_range %v: must be at least 1m", c.MaxRange))
	}
	if c.QueryTimeout <= 0 {
		errs = append(errs, fmt.Errorf("ui.query_timeout %v: must be positive", c.QueryTimeout))
	}
	if c.MaxArcs < 1 || c.MaxArcs > 65536 {
		errs = append(errs, fmt.Errorf("ui.max_arcs %d: must be 1..65536", c.MaxArcs))
	}
	if err := c.Auth.Validate(c.Listen); err != nil {
		errs = append(errs, err)
	}
	if err := c.RBAC.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
