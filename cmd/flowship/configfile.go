package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// envRef matches ${NAME} and ${NAME:-default} in config files, so a
// DaemonSet can pass NODE_NAME from the downward API.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${NAME} and ${NAME:-default}. A reference to an unset
// variable without a default is an error naming the variable and line.
// Expansion is textual: a key whose value expands to nothing reads as YAML
// null and keeps its default; quote the reference ("${NAME:-}") for an
// empty string.
func expandEnv(src []byte, lookup func(string) (string, bool)) ([]byte, error) {
	var errs []error
	lines := bytes.Split(src, []byte("\n"))
	for i, line := range lines {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			continue
		}
		lines[i] = envRef.ReplaceAllFunc(line, func(m []byte) []byte {
			sub := envRef.FindSubmatch(m)
			name := string(sub[1])
			if v, ok := lookup(name); ok && v != "" {
				return []byte(v)
			}
			if len(sub[2]) > 0 {
				return sub[3]
			}
			errs = append(errs, fmt.Errorf("line %d: environment variable %s is not set (use ${%s:-default} for a default)", i+1, name, name))
			return m
		})
	}
	return bytes.Join(lines, []byte("\n")), errors.Join(errs...)
}

// loadConfig reads a YAML file into out (which holds the defaults already)
// strictly: unknown keys are errors that name the key and line.
func loadConfig(path string, out any) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return decodeConfig(path, src, out)
}

func decodeConfig(name string, src []byte, out any) error {
	return decodeConfigEnv(name, src, os.LookupEnv, out)
}

// decodeConfigEnv is decodeConfig with the environment given by lookup.
func decodeConfigEnv(name string, src []byte, lookup func(string) (string, bool), out any) error {
	src, err := expandEnv(src, lookup)
	if err != nil {
		return fmt.Errorf("config %s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %s", name, friendlyYAMLError(err))
	}
	return nil
}

// friendlyYAMLError rewrites yaml.v3's "field x not found in type y" into
// "unknown key x".
func friendlyYAMLError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	re := regexp.MustCompile(`field (\S+) not found in type \S+`)
	msg = re.ReplaceAllString(msg, "unknown key $1")
	return strings.ReplaceAll(strings.TrimSpace(msg), "\n  ", "; ")
}
