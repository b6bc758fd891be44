package kafka

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantKey string // "" = valid
	}{
		{"defaults with brokers", func(*Config) {}, ""},
		{"no brokers", func(c *Config) { c.Brokers = nil }, "kafka.brokers"},
		{"broker without port", func(c *Config) { c.Brokers = []string{"kafka"} }, "kafka.brokers[0]"},
		{"zero dial timeout", func(c *Config) { c.DialTimeout = 0 }, "kafka.dial_timeout"},
		{"empty topic", func(c *Config) { c.Topics.L7 = "" }, "kafka.topics.l7"},
		{"bad topic name", func(c *Config) { c.Topics.DNS = "dns logs" }, "kafka.topics.dns"},
		{"shared topic", func(c *Config) { c.Topics.DNS = c.Topics.Flows }, "kafka.topics.dns"},
		{"dlq shares a kind topic", func(c *Config) { c.Topics.DeadLetter = c.Topics.Flows }, "kafka.topics.dead_letter"},
		{"unknown codec", func(c *Config) { c.Compression = "brotli" }, "kafka.compression"},
		{"zero batch size", func(c *Config) { c.BatchSize = 0 }, "kafka.batch_size"},
		{"tiny max message", func(c *Config) { c.MaxMessageBytes = 10 }, "kafka.max_message_bytes"},
		{"batch bytes below max message", func(c *Config) { c.BatchBytes = c.MaxMessageBytes - 1 }, "kafka.batch_bytes"},
		{"zero linger", func(c *Config) { c.Linger = 0 }, "kafka.linger"},
		{"zero inflight", func(c *Config) { c.MaxInflightBatches = 0 }, "kafka.max_inflight_batches"},
		{"zero write timeout", func(c *Config) { c.WriteTimeout = 0 }, "kafka.write_timeout"},
		{"zero attempts", func(c *Config) { c.MaxAttempts = 0 }, "kafka.max_attempts"},
		{"no dead-letter log", func(c *Config) { c.DeadLetterLog = "" }, "kafka.dead_letter_log"},
		{"negative flush timeout", func(c *Config) { c.FlushTimeout = -time.Second }, "kafka.flush_timeout"},
		{"retry max below initial", func(c *Config) { c.Retry.Max = time.Millisecond }, "kafka.retry.max"},
		{"zero retry initial", func(c *Config) { c.Retry.Initial = 0 }, "kafka.retry.initial"},
		{"tls files without tls", func(c *Config) { c.TLS.CAFile = "ca.pem" }, "kafka.tls.enabled"},
		{"tls cert without key", func(c *Config) { c.TLS = TLSConfig{Enabled: true, CertFile: "c.pem"} }, "kafka.tls.cert_file"},
		{"sasl unknown mechanism", func(c *Config) { c.SASL = SASLConfig{Mechanism: "gssapi"} }, "kafka.sasl.mechanism"},
		{"sasl without user", func(c *Config) { c.SASL = SASLConfig{Mechanism: SASLPlain, PasswordEnv: "P"} }, "kafka.sasl.username"},
		{"sasl without password", func(c *Config) { c.SASL = SASLConfig{Mechanism: SASLScramSHA512, Username: "u"} }, "kafka.sasl.password_file"},
		{"sasl with both passwords", func(c *Config) {
			c.SASL = SASLConfig{Mechanism: SASLScramSHA256, Username: "u", PasswordEnv: "P", PasswordFile: "f"}
		}, "kafka.sasl.password_file"},
		{"credentials without mechanism", func(c *Config) { c.SASL = SASLConfig{Username: "u"} }, "kafka.sasl.mechanism"},
		{"scram ok", func(c *Config) { c.SASL = SASLConfig{Mechanism: SASLScramSHA512, Username: "u", PasswordEnv: "P"} }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Brokers = []string{"10.0.0.1:9092"}
			tc.mutate(&c)
			err := c.Validate()
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantKey+":") && !strings.HasPrefix(err.Error(), tc.wantKey+",") {
				t.Fatalf("Validate() = %v, want an error starting with %q", err, tc.wantKey)
			}
		})
	}
}

func TestReaderConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*ReaderConfig)
		wantKey string
	}{
		{"defaults with brokers", func(*ReaderConfig) {}, ""},
		{"no brokers", func(c *ReaderConfig) { c.Brokers = nil }, "kafka.brokers"},
		{"no group", func(c *ReaderConfig) { c.GroupID = "" }, "kafka.group_id"},
		{"no topics", func(c *ReaderConfig) { c.Topics = nil }, "kafka.topics"},
		{"bad topic", func(c *ReaderConfig) { c.Topics = []string{"ok", "not ok"} }, "kafka.topics[1]"},
		{"zero min bytes", func(c *ReaderConfig) { c.MinBytes = 0 }, "kafka.min_bytes"},
		{"max below min", func(c *ReaderConfig) { c.MinBytes, c.MaxBytes = 100, 10 }, "kafka.max_bytes"},
		{"zero max wait", func(c *ReaderConfig) { c.MaxWait = 0 }, "kafka.max_wait"},
		{"zero batch size", func(c *ReaderConfig) { c.BatchSize = 0 }, "kafka.batch_size"},
		{"zero batch bytes", func(c *ReaderConfig) { c.BatchBytes = 0 }, "kafka.batch_bytes"},
		{"zero linger", func(c *ReaderConfig) { c.Linger = 0 }, "kafka.linger"},
		{"zero commit interval", func(c *ReaderConfig) { c.CommitInterval = 0 }, "kafka.commit_interval"},
		{"bad start offset", func(c *ReaderConfig) { c.StartOffset = "earliest" }, "kafka.start_offset"},
		{"negative drain", func(c *ReaderConfig) { c.DrainTimeout = -1 }, "kafka.drain_timeout"},
		{"tiny session timeout", func(c *ReaderConfig) { c.SessionTimeout = 100 * time.Millisecond }, "kafka.session_timeout"},
		{"rebalance shorter than drain", func(c *ReaderConfig) { c.RebalanceTimeout = c.DrainTimeout }, "kafka.rebalance_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultReaderConfig()
			c.Brokers = []string{"kafka-0.kafka:9092"}
			tc.mutate(&c)
			err := c.Validate()
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantKey+":") {
				t.Fatalf("Validate() = %v, want an error starting with %q", err, tc.wantKey)
			}
		})
	}
}

func TestConfigYAMLIsFlatAndStrict(t *testing.T) {
	src := `
brokers: [a:9092, b:9092]
client_id: node-x
compression: lz4
batch_bytes: 2MiB
max_message_bytes: 512KiB
linger: 20ms
topics: {flows: f, l7: l, dns: d, dead_letter: x}
sasl: {mechanism: scram-sha-256, username: u, password_env: KAFKA_PW}
`
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Brokers[1] != "b:9092" || c.ClientID != "node-x" || c.BatchBytes != 2<<20 || c.MaxMessageBytes != 512<<10 ||
		c.Linger != 20*time.Millisecond || c.Topics.DNS != "d" || c.SASL.PasswordEnv != "KAFKA_PW" || c.BatchSize != 1000 {
		t.Errorf("decoded %+v", c)
	}
	bad := yaml.NewDecoder(strings.NewReader("brokers: [a:1]\npassword: secret\n"))
	bad.KnownFields(true)
	if err := bad.Decode(&c); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("unknown key: err = %v, want one naming it", err)
	}
}

func TestConnectionBuildsSecrets(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		conn    Connection
		wantErr string
		wantSSL bool
		mech    string
	}{
		{"plain from file", Connection{SASL: SASLConfig{Mechanism: SASLPlain, Username: "u", PasswordFile: pw}}, "", false, "PLAIN"},
		{"scram-512 from env", Connection{SASL: SASLConfig{Mechanism: SASLScramSHA512, Username: "u", PasswordEnv: "FLOWSHIP_TEST_PW"}}, "", false, "SCRAM-SHA-512"},
		{"missing env", Connection{SASL: SASLConfig{Mechanism: SASLScramSHA256, Username: "u", PasswordEnv: "FLOWSHIP_TEST_UNSET"}}, "kafka.sasl.password_env", false, ""},
		{"missing password file", Connection{SASL: SASLConfig{Mechanism: SASLPlain, Username: "u", PasswordFile: filepath.Join(dir, "nope")}}, "kafka.sasl.password_file", false, ""},
		{"tls system roots", Connection{TLS: TLSConfig{Enabled: true, ServerName: "kafka"}}, "", true, ""},
		{"tls bad ca", Connection{TLS: TLSConfig{Enabled: true, CAFile: pw}}, "kafka.tls.ca_file", false, ""},
	}
	t.Setenv("FLOWSHIP_TEST_PW", "x")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.conn.Brokers = []string{"k:9092"}
			d, err := tc.conn.build("kafka.")
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want prefix %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (d.transport.TLS != nil) != tc.wantSSL || (d.dialer.TLS != nil) != tc.wantSSL {
				t.Errorf("TLS set = %v, want %v", d.transport.TLS != nil, tc.wantSSL)
			}
			if tc.mech != "" && (d.transport.SASL == nil || d.transport.SASL.Name() != tc.mech || d.dialer.SASLMechanism.Name() != tc.mech) {
				t.Errorf("SASL mechanism = %v, want %s", d.transport.SASL, tc.mech)
			}
		})
	}
}

func TestConfigCompressionLevel(t *testing.T) {
	tests := []struct {
		name, codec, level string
		valid              bool
	}{
		{"zstd fastest", "zstd", LevelFastest, true},
		{"zstd default", "zstd", LevelDefault, true},
		{"gzip better", "gzip", LevelBetter, true},
		{"gzip best", "gzip", LevelBest, true},
		{"lz4 ignores the level", "lz4", LevelBest, true},
		{"empty", "zstd", "", false},
		{"a number", "zstd", "3", false},
		{"unknown name", "gzip", "max", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Brokers = []string{"10.0.0.1:9092"}
			c.Compression, c.CompressionLevel = tc.codec, tc.level
			err := c.Validate()
			if tc.valid != (err == nil) {
				t.Fatalf("Validate() = %v, want valid %v", err, tc.valid)
			}
			if err != nil && !strings.Contains(err.Error(), "kafka.compression_level:") {
				t.Errorf("error %q does not name kafka.compression_level", err)
			}
		})
	}
}
