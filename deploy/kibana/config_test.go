package kibana

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestDefaultConfigNeedsOnlyURL(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "kibana.url: must not be empty") {
		t.Errorf("default config without URL: %v", err)
	}
	c.URL = "http://kibana:5601"
	if err := c.Validate(); err != nil {
		t.Errorf("default config with URL: %v", err)
	}
}

func TestConfigFromYAML(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := "url: https://kibana.example:5601/base\nusername: flowship\npassword_file: " + pw +
		"\nspace: ops\ntimeout: 5s\nattempts: 2\n"
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Space != "ops" || c.Timeout.String() != "5s" || c.Attempts != 2 || c.PasswordFile != pw {
		t.Errorf("decoded %+v", c)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KIBANA_TEST_SET", "x")
	base := func(mod func(*Config)) Config {
		c := DefaultConfig()
		c.URL = "https://kibana:5601"
		mod(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" means valid
	}{
		{"basic auth with file", base(func(c *Config) { c.Username, c.PasswordFile = "u", secret }), ""},
		{"basic auth with env", base(func(c *Config) { c.Username, c.PasswordEnv = "u", "KIBANA_TEST_SET" }), ""},
		{"api key file", base(func(c *Config) { c.APIKeyFile = secret }), ""},
		{"space", base(func(c *Config) { c.Space = "team-a_1" }), ""},
		{"base path", base(func(c *Config) { c.URL = "https://example.org/kibana/" }), ""},
		{"bad scheme", base(func(c *Config) { c.URL = "ftp://kibana" }), "kibana.url: \"ftp://kibana\" is not an http(s) URL"},
		{"no host", base(func(c *Config) { c.URL = "kibana:5601" }), "kibana.url"},
		{"credentials in url", base(func(c *Config) { c.URL = "https://u:p@kibana" }), "kibana.url: must not carry credentials"},
		{"query in url", base(func(c *Config) { c.URL = "https://kibana/?a=b" }), "must not have a query"},
		{"username without password", base(func(c *Config) { c.Username = "u" }), "kibana.password_file: must be set"},
		{"password without username", base(func(c *Config) { c.PasswordFile = secret }), "kibana.username: must be set"},
		{"password file and env", base(func(c *Config) { c.Username, c.PasswordFile, c.PasswordEnv = "u", secret, "KIBANA_TEST_SET" }), "not both"},
		{"missing password file", base(func(c *Config) { c.Username, c.PasswordFile = "u", filepath.Join(dir, "nope") }), "kibana.password_file: stat"},
		{"unset env", base(func(c *Config) { c.APIKeyEnv = "KIBANA_TEST_UNSET_VAR" }), "kibana.api_key_env: environment variable KIBANA_TEST_UNSET_VAR is not set"},
		{"basic and api key", base(func(c *Config) { c.Username, c.PasswordFile, c.APIKeyFile = "u", secret, secret }), "not both"},
		{"bad space", base(func(c *Config) { c.Space = "Team A" }), "kibana.space"},
		{"missing ca", base(func(c *Config) { c.CAFile = filepath.Join(dir, "ca.pem") }), "kibana.ca_file"},
		{"zero timeout", base(func(c *Config) { c.Timeout = 0 }), "kibana.timeout"},
		{"zero attempts", base(func(c *Config) { c.Attempts = 0 }), "kibana.attempts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
