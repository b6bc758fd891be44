package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Connection says how to reach and authenticate to the cluster. The
// writer, the reader and the topic admin share it; in YAML its keys sit
// directly in the kafka section.
type Connection struct {
	// Brokers are bootstrap host:port addresses. Required.
	Brokers []string `yaml:"brokers"`
	// ClientID is sent to the brokers (quotas, broker logs). Default "flowship".
	ClientID string `yaml:"client_id"`
	// DialTimeout bounds connecting, including TLS and SASL. Default 10s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	TLS         TLSConfig     `yaml:"tls"`
	SASL        SASLConfig    `yaml:"sasl"`
}

// TLSConfig enables TLS to the brokers. Files are PEM.
type TLSConfig struct {
	Enabled            bool   `yaml:"enabled"`              // default false
	CAFile             string `yaml:"ca_file"`              // CA bundle; default the system roots
	CertFile           string `yaml:"cert_file"`            // client certificate for mTLS; with key_file
	KeyFile            string `yaml:"key_file"`             // client key for mTLS; with cert_file
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"` // never in production
	ServerName         string `yaml:"server_name"`          // overrides the name checked in the broker certificate
}

// SASL mechanisms.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// SASLConfig enables SASL authentication. The password comes from a file
// or an environment variable, never from the config itself.
type SASLConfig struct {
	Mechanism    string `yaml:"mechanism"`     // "" (off), plain, scram-sha-256 or scram-sha-512
	Username     string `yaml:"username"`      // required with a mechanism
	PasswordFile string `yaml:"password_file"` // file holding the password (trailing newline ignored)
	PasswordEnv  string `yaml:"password_env"`  // or the name of an environment variable holding it
}

func defaultConnection() Connection {
	return Connection{ClientID: "flowship", DialTimeout: 10 * time.Second}
}

func (c Connection) validate(p string) error {
	if len(c.Brokers) == 0 {
		return fmt.Errorf("%sbrokers: must not be empty; list the bootstrap brokers as host:port", p)
	}
	for i, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			return fmt.Errorf("%sbrokers[%d]: %q is not host:port", p, i, b)
		}
	}
	if c.DialTimeout <= 0 {
		return fmt.Errorf("%sdial_timeout: must be positive, e.g. 10s", p)
	}
	if err := c.TLS.validate(p + "tls."); err != nil {
		return err
	}
	return c.SASL.validate(p + "sasl.")
}

func (t TLSConfig) validate(p string) error {
	if !t.Enabled {
		if t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" {
			return fmt.Errorf("%senabled: files are set but TLS is off; set %senabled: true", p, p)
		}
		return nil
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return fmt.Errorf("%scert_file, %skey_file: set both for client certificates, or neither", p, p)
	}
	return nil
}

func (s SASLConfig) validate(p string) error {
	switch s.Mechanism {
	case "":
		if s.Username != "" || s.PasswordFile != "" || s.PasswordEnv != "" {
			return fmt.Errorf("%smechanism: credentials are set but no mechanism; use plain, scram-sha-256 or scram-sha-512", p)
		}
		return nil
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
	default:
		return fmt.Errorf("%smechanism: %q is not supported; use plain, scram-sha-256 or scram-sha-512", p, s.Mechanism)
	}
	if s.Username == "" {
		return fmt.Errorf("%susername: required with mechanism %s", p, s.Mechanism)
	}
	if (s.PasswordFile == "") == (s.PasswordEnv == "") {
		return fmt.Errorf("%spassword_file, %spassword_env: set exactly one; passwords are never written inline", p, p)
	}
	return nil
}

func (t TLSConfig) build(p string) (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // explicit opt-in, documented as never for production
		ServerName:         t.ServerName,
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%sca_file: %w", p, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%sca_file: %s holds no PEM certificate", p, t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%scert_file/key_file: %w", p, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func (s SASLConfig) build(p string) (sasl.Mechanism, error) {
	if s.Mechanism == "" {
		return nil, nil
	}
	var pw string
	if s.PasswordFile != "" {
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("%spassword_file: %w", p, err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
	} else {
		v, ok := os.LookupEnv(s.PasswordEnv)
		if !ok {
			return nil, fmt.Errorf("%spassword_env: environment variable %s is not set", p, s.PasswordEnv)
		}
		pw = v
	}
	switch s.Mechanism {
	case SASLPlain:
		return plain.Mechanism{Username: s.Username, Password: pw}, nil
	case SASLScramSHA256:
		return scramMechanism(p, scram.SHA256, s.Username, pw)
	default:
		return scramMechanism(p, scram.SHA512, s.Username, pw)
	}
}

func scramMechanism(p string, algo scram.Algorithm, user, pw string) (sasl.Mechanism, error) {
	m, err := scram.Mechanism(algo, user, pw)
	if err != nil {
		return nil, fmt.Errorf("%smechanism: %w", p, err)
	}
	return m, nil
}

// dialers holds what kafka-go needs to connect: a Transport for the
// Writer and Client, a Dialer for the Reader and ConsumerGroup.
type dialers struct {
	transport *kafkago.Transport
	dialer    *kafkago.Dialer
	addr      net.Addr
}

func (c Connection) build(p string) (dialers, error) {
	tlsCfg, err := c.TLS.build(p + "tls.")
	if err != nil {
		return dialers{}, err
	}
	mech, err := c.SASL.build(p + "sasl.")
	if err != nil {
		return dialers{}, err
	}
	return dialers{
		transport: &kafkago.Transport{
			ClientID:    c.ClientID,
			DialTimeout: c.DialTimeout,
			TLS:         tlsCfg,
			SASL:        mech,
		},
		dialer: &kafkago.Dialer{
			ClientID:      c.ClientID,
			Timeout:       c.DialTimeout,
			DualStack:     true,
			TLS:           tlsCfg,
			SASLMechanism: mech,
		},
		addr: kafkago.TCP(c.Brokers...),
	}, nil
}
