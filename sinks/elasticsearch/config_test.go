package elasticsearch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

func TestConfigValidate(t *testing.T) {
	valid := DefaultConfig()
	valid.URLs = []string{"https://es:9200"}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"no urls", func(c *Config) { c.URLs = nil }, "elasticsearch.urls"},
		{"url without scheme", func(c *Config) { c.URLs = []string{"es:9200"} }, "elasticsearch.urls"},
		{"both password sources", func(c *Config) { c.Username, c.PasswordFile, c.PasswordEnv = "u", "f", "E" }, "password_env"},
		{"api key and user", func(c *Config) { c.Username, c.APIKeyFile = "u", "k" }, "elasticsearch.api_key_file"},
		{"password without user", func(c *Config) { c.PasswordFile = "f" }, "elasticsearch.username"},
		{"bad naming", func(c *Config) { c.Naming.Cluster = "A" }, "elasticsearch.naming.cluster"},
		{"zero actions", func(c *Config) { c.BulkActions = 0 }, "elasticsearch.bulk_actions"},
		{"zero bytes", func(c *Config) { c.BulkBytes = 0 }, "elasticsearch.bulk_bytes"},
		{"negative linger", func(c *Config) { c.FlushInterval = -1 }, "elasticsearch.flush_interval"},
		{"zero workers", func(c *Config) { c.Workers = 0 }, "elasticsearch.workers"},
		{"zero queue", func(c *Config) { c.QueueSize = 0 }, "elasticsearch.queue_size"},
		{"zero retry", func(c *Config) { c.Retry.Initial = 0 }, "elasticsearch.retry.initial"},
		{"max below initial", func(c *Config) { c.Retry.Max = time.Millisecond }, "elasticsearch.retry.max"},
		{"zero timeout", func(c *Config) { c.RequestTimeout = 0 }, "elasticsearch.request_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid
			tc.mutate(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	in := `
urls: [https://es-a:9200, https://es-b:9200]
username: flowship
password_file: /run/secrets/es
naming: {mode: calico, prefix: flowship, cluster: prod}
bulk_actions: 500
bulk_bytes: 2MiB
flush_interval: 250ms
workers: 4
retry: {initial: 1s, max: 1m}
request_timeout: 30s
compress: false
`
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(in))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Naming != (Naming{Mode: NamingCalico, Prefix: "flowship", Cluster: "prod"}) || c.BulkBytes != 2<<20 ||
		c.FlushInterval != 250*time.Millisecond || c.Retry.Max != time.Minute || c.Compress || c.QueueSize != 4 {
		t.Errorf("decoded %+v", c)
	}
}

func TestNewReadsSecrets(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLOWSHIP_TEST_ES_PW", "")
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"password file", func(c *Config) { c.Username, c.PasswordFile = "u", pw }, ""},
		{"missing password file", func(c *Config) { c.Username, c.PasswordFile = "u", pw+"x" }, "elasticsearch.password_file"},
		{"empty env", func(c *Config) { c.Username, c.PasswordEnv = "u", "FLOWSHIP_TEST_ES_PW" }, "elasticsearch.password_env"},
		{"empty api key file", func(c *Config) { c.APIKeyFile = filepath.Join(dir, "empty") }, "elasticsearch.api_key_file"},
		{"bad ca file", func(c *Config) { c.TLS.CAFile = pw }, "elasticsearch.tls.ca_file"},
		{"no dead-letter consumer", nil, "dead-letter consumer is required"},
	}
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig("http://127.0.0.1:1")
			var dlq pipeline.Consumer = &pipelinetest.Sink{}
			if tc.mutate != nil {
				tc.mutate(&c)
			} else {
				dlq = nil
			}
			_, err := New(c, pipeline.NopTelemetry(), dlq)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New() = %v, want an error naming %q", err, tc.wantErr)
			}
		})
	}
}

func TestEveryLimitsLogLines(t *testing.T) {
	e := every{interval: 30 * time.Second}
	t0 := time.Unix(1000, 0)
	if ok, _ := e.allow(t0); !ok {
		t.Fatal("first line held back")
	}
	for i := 1; i <= 5; i++ {
		if ok, _ := e.allow(t0.Add(time.Duration(i) * time.Second)); ok {
			t.Fatalf("line %d within 30s let through", i)
		}
	}
	ok, held := e.allow(t0.Add(31 * time.Second))
	if !ok || held != 5 {
		t.Fatalf("after 31s: allow = %v, suppressed = %d; want true, 5", ok, held)
	}
}
