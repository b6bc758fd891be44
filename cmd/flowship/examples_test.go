package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// checkFor finds "flowship check --for <cmd>" in an example's header
// comments: the subcommand the file is written for. Files without it are
// checked as complete configs (every section).
var checkFor = regexp.MustCompile(`(?m)^#.*flowship check --for (\w+)`)

// TestExamplesAreValidConfigs loads every deploy/examples/*.yaml the way
// the subcommand it names does (strict keys, defaults, Validate), so an
// example that drifts from the config format fails here, naming the file.
func TestExamplesAreValidConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "deploy", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no deploy/examples/*.yaml found: the examples are part of the release")
	}
	t.Setenv("NODE_NAME", "example-node")
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cmds := []string{"all"}
			if ms := checkFor.FindAllSubmatch(src, -1); len(ms) > 0 {
				cmds = cmds[:0]
				for _, m := range ms {
					cmds = append(cmds, string(m[1]))
				}
			}
			for _, cmd := range cmds {
				sections, ok := sectionsFor[cmd]
				if !ok {
					t.Fatalf("%s: header names \"flowship check --for %s\", which is not a subcommand check knows", path, cmd)
				}
				if _, err := readConfig(path, sections...); err != nil {
					t.Errorf("%s (--for %s): %v", path, cmd, err)
				}
			}
		})
	}
}

// TestExamplesRejectTypos proves the check above has teeth: the collector
// example with one misspelt key must fail, naming the key.
func TestExamplesRejectTypos(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "deploy", "examples", "collector.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := regexp.MustCompile(`(?m)^  window:`).ReplaceAll(src, []byte("  windw:"))
	if string(bad) == string(src) {
		t.Fatal("collector.yaml has no aggregation window line to misspell; update this test")
	}
	path := filepath.Join(t.TempDir(), "collector.yaml")
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NODE_NAME", "example-node")
	_, err = readConfig(path, sectionsFor["collect"]...)
	if err == nil || !regexp.MustCompile(`windw`).MatchString(err.Error()) {
		t.Fatalf("misspelt key: got %v, want an error naming windw", err)
	}
}
