package elasticsearch

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// Config configures the Elasticsearch sink. YAML keys are snake_case under
// the "elasticsearch" section; secrets come from files or the environment,
// never inline.
type Config struct {
	// URLs lists the Elasticsearch HTTP endpoints, e.g.
	// https://es-http.elastic-system:9200. Required.
	URLs []string `yaml:"urls"`
	// Username for HTTP basic authentication; empty for none.
	Username string `yaml:"username"`
	// PasswordFile is a file holding the password (trailing newline ignored).
	PasswordFile string `yaml:"password_file"`
	// PasswordEnv names an environment variable holding the password.
	PasswordEnv string `yaml:"password_env"`
	// APIKeyFile is a file holding a base64 API key ("id:key" encoded); it
	// takes the place of username and password.
	APIKeyFile string `yaml:"api_key_file"`
	// TLS configures server verification for https URLs.
	TLS TLSConfig `yaml:"tls"`
	// Naming picks index names (see Naming).
	Naming Naming `yaml:"naming"`
	// BulkActions caps the documents in one bulk request. Default 1000.
	BulkActions int `yaml:"bulk_actions"`
	// BulkBytes caps the body of one bulk request (uncompressed); a single
	// larger document is still sent alone. Default 5MiB.
	BulkBytes pipeline.ByteSize `yaml:"bulk_bytes"`
	// FlushInterval is how long a worker waits for more batches before it
	// sends a request that is not full. 0 sends at once. Default 1s.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Workers is the number of concurrent bulk requests. Default 2.
	Workers int `yaml:"workers"`
	// QueueSize is the number of batches that may wait for a worker before
	// Consume blocks. Default 4.
	QueueSize int `yaml:"queue_size"`
	// Retry shapes the backoff between attempts for documents that
	// Elasticsearch rejected temporarily (429, 5xx, unreachable). Retries
	// never stop while the sink runs.
	Retry RetryConfig `yaml:"retry"`
	// RequestTimeout bounds one bulk request. Default 1m.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// Compress gzips request bodies at gzip's fastest level. Default false:
	// on the benchmark's localhost Elasticsearch, gzip (then at the
	// default level) took 57% of the indexer's CPU and Elasticsearch
	// spends CPU to inflate it again; turn it on when the network between
	// the indexer and Elasticsearch costs more than CPU (flow documents
	// compress about 10×).
	Compress bool `yaml:"compress"`
	// UnreadyAfter is how long documents may wait on a refusal only an
	// operator can end (401, 403, index_not_found) before the indexer's
	// /readyz fails and names the reason and since when. They are retried
	// all along. Default 1m.
	UnreadyAfter time.Duration `yaml:"unready_after"`
}

// TLSConfig configures TLS towards Elasticsearch.
type TLSConfig struct {
	// CAFile is a PEM bundle of the CAs that sign the server certificate;
	// empty uses the system pool.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify disables server certificate verification. For
	// tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// RetryConfig is the backoff between retry rounds: exponential with full
// jitter from Initial up to Max.
type RetryConfig struct {
	// Initial is the first delay. Default 500ms.
	Initial time.Duration `yaml:"initial"`
	// Max caps one delay. Default 30s.
	Max time.Duration `yaml:"max"`
}

// DefaultConfig returns the defaults documented on Config; URLs is empty
// and must be set.
func DefaultConfig() Config {
	return Config{
		Naming:         DefaultNaming(),
		BulkActions:    1000,
		BulkBytes:      5 << 20,
		FlushInterval:  time.Second,
		Workers:        2,
		QueueSize:      4,
		Retry:          RetryConfig{Initial: 500 * time.Millisecond, Max: 30 * time.Second},
		RequestTimeout: time.Minute,
		Compress:       false,
		UnreadyAfter:   time.Minute,
	}
}

// Validate reports the first invalid field, naming its key.
func (c Config) Validate() error {
	if len(c.URLs) == 0 {
		return errors.New("elasticsearch.urls: must not be empty")
	}
	for _, u := range c.URLs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("elasticsearch.urls: %q is not an http(s) URL such as https://elasticsearch:9200", u)
		}
	}
	if c.PasswordFile != "" && c.PasswordEnv != "" {
		return errors.New("elasticsearch.password_file, elasticsearch.password_env: set at most one")
	}
	if c.APIKeyFile != "" && (c.Username != "" || c.PasswordFile != "" || c.PasswordEnv != "") {
		return errors.New("elasticsearch.api_key_file: set either an API key or username and password, not both")
	}
	if c.Username == "" && (c.PasswordFile != "" || c.PasswordEnv != "") {
		return errors.New("elasticsearch.username: must be set when a password is")
	}
	if err := c.Naming.Validate(); err != nil {
		return err
	}
	checks := []struct {
		ok  bool
		msg string
	}{
		{c.BulkActions > 0, "elasticsearch.bulk_actions: must be > 0"},
		{c.BulkBytes > 0, "elasticsearch.bulk_bytes: must be > 0"},
		{c.FlushInterval >= 0, "elasticsearch.flush_interval: must not be negative"},
		{c.Workers > 0, "elasticsearch.workers: must be > 0"},
		{c.QueueSize > 0, "elasticsearch.queue_size: must be > 0"},
		{c.Retry.Initial > 0, "elasticsearch.retry.initial: must be > 0"},
		{c.Retry.Max >= c.Retry.Initial, "elasticsearch.retry.max: must be >= retry.initial"},
		{c.RequestTimeout > 0, "elasticsearch.request_timeout: must be > 0"},
		{c.UnreadyAfter > 0, "elasticsearch.unready_after: must be > 0, e.g. 1m"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return errors.New(ch.msg)
		}
	}
	return nil
}

// secrets reads the password or API key named by c.
func (c Config) secrets() (password, apiKey string, err error) {
	switch {
	case c.PasswordFile != "":
		password, err = readSecret(c.PasswordFile, "elasticsearch.password_file")
	case c.PasswordEnv != "":
		v, ok := os.LookupEnv(c.PasswordEnv)
		if !ok || v == "" {
			return "", "", fmt.Errorf("elasticsearch.password_env: environment variable %s is not set", c.PasswordEnv)
		}
		password = v
	}
	if err != nil {
		return "", "", err
	}
	if c.APIKeyFile != "" {
		apiKey, err = readSecret(c.APIKeyFile, "elasticsearch.api_key_file")
	}
	return password, apiKey, err
}

func readSecret(path, key string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s: %s is empty", key, path)
	}
	return s, nil
}
