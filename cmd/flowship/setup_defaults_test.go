package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSetupWithoutConfigUsesLocalServices: with no --config, setup works
// against a Kafka and an Elasticsearch on this machine, as Filebeat and
// Kafka's own tools do; a config file must still name its services.
func TestSetupWithoutConfigUsesLocalServices(t *testing.T) {
	cfg, err := readConfigOver(localDefaults(DefaultConfig()), "", sectionsFor["setup"]...)
	if err != nil {
		t.Fatalf("defaults without a config file must validate for setup: %v", err)
	}
	if got := cfg.Index.Elasticsearch.URLs; !slices.Equal(got, []string{"http://localhost:9200"}) {
		t.Errorf("elasticsearch urls = %q", got)
	}
	if got := cfg.Kafka.Brokers; !slices.Equal(got, []string{"localhost:9092"}) {
		t.Errorf("kafka brokers = %q", got)
	}

	var out, errOut bytes.Buffer
	if err := runSetup(context.Background(), []string{"--dry-run", "--kafka", "--elasticsearch=false"}, &out, &errOut); err != nil {
		t.Fatalf("setup --dry-run --kafka without a config: %v", err)
	}
	if !strings.Contains(out.String(), "CreateTopics flowship.flows ") {
		t.Errorf("dry run printed no topic request:\n%s", out.String())
	}

	path := filepath.Join(t.TempDir(), "flowship.yaml")
	if err := os.WriteFile(path, []byte("cluster: c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = runSetup(context.Background(), []string{"--dry-run", "--config", path}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "elasticsearch.urls: must not be empty") {
		t.Fatalf("a config without urls: error = %v, want elasticsearch.urls: must not be empty", err)
	}
}
