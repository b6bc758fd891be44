package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestCollectDeadLettersOverlongLines: a flows.log line longer than
// max_line_size is skipped by the tailer and written, as a sample with
// file, offset and reason, to aggregation.dead_letter_log — the file the
// troubleshooting guide points to for bad lines — next to the
// aggregator's unparseable lines.
func TestCollectDeadLettersOverlongLines(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "flowship.flows", "flowship.l7", "flowship.dns"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	long := `{"start_time":` + strings.Repeat("9", 8000) + "}"
	if err := os.WriteFile(live, []byte(long+"\n{\"start_time\": truncated\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Cluster, cfg.Node = "test", "node-a"
	cfg.Telemetry.Listen = ""
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Kafka.DeadLetterLog = filepath.Join(dir, "kdl.jsonl")
	cfg.Aggregation.DeadLetterLog = filepath.Join(dir, "bad-lines.jsonl")
	cfg.Inputs.L7.Enabled, cfg.Inputs.DNS.Enabled = false, false
	cfg.Inputs.Flows.Paths = []string{live}
	cfg.Inputs.Flows.PositionsFile = filepath.Join(dir, "flows.positions.json")
	cfg.Inputs.Flows.MaxLineSize = 4096
	cfg.Inputs.Flows.Linger = 50 * time.Millisecond
	if err := cfg.Validate(sectionsFor["collect"]...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- collect(ctx, cfg, io.Discard) }()
	var entries []map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for len(entries) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		b, _ := os.ReadFile(cfg.Aggregation.DeadLetterLog)
		entries = entries[:0]
		for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			var e map[string]any
			if json.Unmarshal(l, &e) == nil {
				entries = append(entries, e)
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("collect: %v", err)
	}
	if len(entries) != 2 {
		t.Fatalf("dead-letter log holds %d entries, want 2 (the long line and the unparseable one): %v", len(entries), entries)
	}
	var found bool
	for _, e := range entries {
		if e["reason"] == "too_long" {
			found = true
			raw, _ := e["raw"].(string)
			if e["file"] != live || e["offset"] != float64(0) || e["bytes"] != float64(len(long)) || e["truncated"] != true || !strings.HasPrefix(long, raw) || len(raw) == 0 {
				t.Errorf("entry for the long line = %v", e)
			}
		}
	}
	if !found {
		t.Fatalf("no too_long entry: %v", entries)
	}
}
