package kibana

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// Config says where and how Import loads the saved objects. Secrets come
// from files or environment variables, never from the config itself.
type Config struct {
	// URL is Kibana's base URL, for example "https://kibana.example:5601"
	// or "https://example.org/kibana" behind a base path. Required.
	URL string `yaml:"url"`
	// Username for basic authentication; needs PasswordFile or
	// PasswordEnv. Empty: no basic authentication.
	Username string `yaml:"username"`
	// PasswordFile is a file holding the password (trailing newline
	// ignored).
	PasswordFile string `yaml:"password_file"`
	// PasswordEnv names an environment variable holding the password.
	PasswordEnv string `yaml:"password_env"`
	// APIKeyFile is a file holding an API key in its encoded form (the
	// "encoded" value Elasticsearch returns: base64 of "id:key"), sent as
	// "Authorization: ApiKey <key>". Excludes Username.
	APIKeyFile string `yaml:"api_key_file"`
	// APIKeyEnv names an environment variable holding the encoded API key.
	APIKeyEnv string `yaml:"api_key_env"`
	// Space is the Kibana space id to import into; "" or "default" is
	// the default space.
	Space string `yaml:"space"`
	// CAFile is a PEM bundle of CAs to trust for an https URL, in
	// addition to the system pool. Empty: system pool only.
	CAFile string `yaml:"ca_file"`
	// Timeout bounds one import request. Default 60s.
	Timeout time.Duration `yaml:"timeout"`
	// Attempts bounds the tries when Kibana is unreachable, starting up
	// (503) or overloaded (429, 5xx). Default 6 (about 30s of waiting).
	Attempts int `yaml:"attempts"`
}

// ImportConfig is Config under the name Import's callers may know it by.
type ImportConfig = Config

// DefaultConfig returns a Config with no URL, no authentication, the
// default space, a 60s timeout and 6 attempts.
func DefaultConfig() Config {
	return Config{Timeout: 60 * time.Second, Attempts: 6}
}

// spaceID is what Kibana accepts as a space id.
var spaceID = regexp.MustCompile(`^[a-z0-9_-]+$`)

// Validate reports every configuration mistake, each naming its key.
// It also checks that the named secret and CA files exist and that the
// named environment variables are set, so a mistake shows at startup.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if c.URL == "" {
		add("kibana.url: must not be empty (for example https://kibana:5601)")
	} else if u, err := url.Parse(c.URL); err != nil {
		add("kibana.url: not a URL: %w", err)
	} else if u.User != nil {
		add("kibana.url: must not carry credentials; use kibana.username with kibana.password_file, or kibana.api_key_file")
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("kibana.url: %q is not an http(s) URL with a host", c.URL)
	} else if u.RawQuery != "" || u.Fragment != "" {
		add("kibana.url: %q must not have a query or fragment", c.URL)
	}
	basic := c.Username != "" || c.PasswordFile != "" || c.PasswordEnv != ""
	apiKey := c.APIKeyFile != "" || c.APIKeyEnv != ""
	switch {
	case basic && apiKey:
		add("kibana.api_key_file: use either an API key or username/password, not both")
	case basic:
		if c.Username == "" {
			add("kibana.username: must be set with kibana.password_file or kibana.password_env")
		}
		errs = append(errs, secretSource("kibana.password_file", c.PasswordFile, "kibana.password_env", c.PasswordEnv))
	case apiKey:
		errs = append(errs, secretSource("kibana.api_key_file", c.APIKeyFile, "kibana.api_key_env", c.APIKeyEnv))
	}
	if c.Space != "" && !spaceID.MatchString(c.Space) {
		add("kibana.space: %q is not a space id (lowercase letters, digits, '_' and '-')", c.Space)
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); err != nil {
			add("kibana.ca_file: %w", err)
		}
	}
	if c.Timeout <= 0 {
		add("kibana.timeout: must be positive, got %s", c.Timeout)
	}
	if c.Attempts < 1 {
		add("kibana.attempts: must be at least 1, got %d", c.Attempts)
	}
	return errors.Join(errs...)
}

// secretSource checks that exactly one of a file and an env var is named
// and that it can be read.
func secretSource(fileKey, file, envKey, env string) error {
	switch {
	case file != "" && env != "":
		return fmt.Errorf("%s: set either %s or %s, not both", fileKey, fileKey, envKey)
	case file == "" && env == "":
		return fmt.Errorf("%s: must be set (or %s)", fileKey, envKey)
	case file != "":
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("%s: %w", fileKey, err)
		}
	default:
		if _, ok := os.LookupEnv(env); !ok {
			return fmt.Errorf("%s: environment variable %s is not set", envKey, env)
		}
	}
	return nil
}

// readSecret returns the secret from file or env, trailing newline removed.
func readSecret(fileKey, file, envKey, env string) (string, error) {
	var s string
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", fileKey, err)
		}
		s = string(b)
	} else {
		s = os.Getenv(env)
	}
	s = strings.TrimRight(s, "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s: the secret is empty; write it to the file or set %s", fileKey, envKey)
	}
	return s, nil
}
