package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUIServesTelemetry: `flowship ui` serves /metrics, /healthz and
// /readyz from the telemetry section beside the UI, like the other
// subcommands, /metrics carries the auth counters from the start, and
// /readyz checks the Elasticsearch cluster it queries.
func TestUIServesTelemetry(t *testing.T) {
	uiAddr, telAddr := freeAddr(t), freeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "flowship.yaml")
	cfg := "telemetry:\n  listen: " + telAddr + "\n  log_format: text\nindex:\n  elasticsearch:\n    urls: [\"http://127.0.0.1:1\"]\nui:\n  listen: " + uiAddr + "\n  auth:\n    mode: none\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runUI(ctx, []string{"--config", cfgPath}, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runUI: %v", err)
		}
	}()
	var code int
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if code, body = httpGet("http://" + telAddr + "/metrics"); code == 200 {
			break
		}
	}
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for _, want := range []string{`flowship_ui_signins_total{`, `result="failed"`, `flowship_ui_requests_denied_total{`, `reason="csrf"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	if code, body := httpGet("http://" + telAddr + "/healthz"); code != 200 {
		t.Errorf("/healthz: %d %s", code, body)
	}
	// Elasticsearch (127.0.0.1:1) is unreachable: not ready, and /readyz says why.
	if code, body := httpGet("http://" + telAddr + "/readyz"); code != 503 || !strings.Contains(body, "elasticsearch") || !strings.Contains(body, "unreachable") {
		t.Errorf("/readyz with Elasticsearch unreachable: %d %s, want 503 naming it", code, body)
	}
	if code, body := httpGet("http://" + uiAddr + "/"); code != 200 {
		t.Errorf("the UI itself: %d %s", code, body)
	}
}

// TestUIDefaultTelemetryPort: without telemetry.listen the ui takes
// :9465, not the indexer's :9464, so both can run on one host.
func TestUIDefaultTelemetryPort(t *testing.T) {
	cfg := uiDefaults()
	if cfg.Telemetry.Listen != ":9465" || DefaultConfig().Telemetry.Listen != ":9464" {
		t.Errorf("ui telemetry.listen %q, indexer %q; want :9465 and :9464", cfg.Telemetry.Listen, DefaultConfig().Telemetry.Listen)
	}
}
