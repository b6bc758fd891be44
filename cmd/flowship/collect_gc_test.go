package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"runtime/debug"
	"testing"
)

// flowship collect no longer raises GOGC (issue 12): it runs at Go's
// default and relies on GOMEMLIMIT, which the DaemonSet sets from the
// container's memory limit. memoryLimit reports that limit, 0 for none.
func TestMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(old)
	if got := memoryLimit(); got != 0 {
		t.Errorf("no limit: memoryLimit() = %d, want 0", got)
	}
	debug.SetMemoryLimit(256 << 20)
	if got := memoryLimit(); got != 256<<20 {
		t.Errorf("memoryLimit() = %d, want %d", got, 256<<20)
	}
}

// Starting the collector leaves the GC percent alone (GOGC or Go's 100).
func TestCollectLeavesGOGC(t *testing.T) {
	const before = 137
	old := debug.SetGCPercent(before)
	defer debug.SetGCPercent(old)
	// A valid configuration with no input: collect sets everything up,
	// then refuses to run.
	cfgFile := filepath.Join(t.TempDir(), "flowship.yaml")
	yaml := "telemetry: {listen: \"127.0.0.1:0\"}\ninputs: {flows: {enabled: false}, l7: {enabled: false}, dns: {enabled: false}}\nkafka: {brokers: [\"127.0.0.1:1\"]}\n"
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	err := runCollect(t.Context(), []string{"--config", cfgFile}, nil, discard{})
	if err == nil || !strings.Contains(err.Error(), "no input enabled") {
		t.Fatalf("collect with no input: %v, want the no-input error", err)
	}
	if now := debug.SetGCPercent(before); now != before {
		t.Errorf("GC percent %d after collect, want %d (left alone)", now, before)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
