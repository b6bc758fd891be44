package main

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// ReceiveConfig is the receive section: the HTTP(S) endpoint Goldmane's
// emitter posts its NDJSON windows to.
type ReceiveConfig struct {
	// Listen is the address of the flow endpoint. Default ":8443".
	Listen string `yaml:"listen"`
	// Path is the URL path that accepts POSTs (the path of Goldmane's
	// PUSH_URL). Default "/flows".
	Path string `yaml:"path"`
	// Host is the documents' "host" (Goldmane aggregates across nodes).
	// Default "goldmane".
	Host string `yaml:"host"`
	// MaxBodySize is the largest POST body accepted; a larger one gets
	// 413. Default 64MiB.
	MaxBodySize pipeline.ByteSize `yaml:"max_body_size"`
	// AckTimeout is how long a POST waits for Kafka to acknowledge all of
	// its records before it is answered 503 (Goldmane then retries; the
	// records' _ids make the retry harmless). Default 60s.
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// TLS serves HTTPS; empty CertFile serves plain HTTP (tests, a mesh
	// that terminates TLS).
	TLS ReceiveTLS `yaml:"tls"`
}

// ReceiveTLS holds the server certificate and the client CA (mTLS).
type ReceiveTLS struct {
	// CertFile and KeyFile are the server's PEM certificate and key.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile, when set, makes every client present a certificate
	// signed by one of its CAs (mutual TLS, as Goldmane's emitter does
	// with its client certificate). Default empty: no client certificate.
	ClientCAFile string `yaml:"client_ca_file"`
}

// DefaultReceiveConfig returns the receive defaults.
func DefaultReceiveConfig() ReceiveConfig {
	return ReceiveConfig{Listen: ":8443", Path: "/flows", Host: "goldmane", MaxBodySize: 64 << 20, AckTimeout: time.Minute}
}

// Validate reports every invalid field, naming its key.
func (c ReceiveConfig) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("receive.listen: %q is not host:port", c.Listen))
	}
	if len(c.Path) == 0 || c.Path[0] != '/' {
		errs = append(errs, fmt.Errorf("receive.path: %q must start with /", c.Path))
	}
	if c.Host == "" {
		errs = append(errs, errors.New("receive.host: must not be empty"))
	}
	if c.MaxBodySize < 1024 {
		errs = append(errs, fmt.Errorf("receive.max_body_size: %v must be at least 1KiB", c.MaxBodySize))
	}
	if c.AckTimeout <= 0 {
		errs = append(errs, fmt.Errorf("receive.ack_timeout: %v must be positive", c.AckTimeout))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("receive.tls: cert_file and key_file go together"))
	}
	if c.TLS.ClientCAFile != "" && c.TLS.CertFile == "" {
		errs = append(errs, errors.New("receive.tls.client_ca_file needs cert_file and key_file (mTLS is TLS)"))
	}
	return errors.Join(errs...)
}
