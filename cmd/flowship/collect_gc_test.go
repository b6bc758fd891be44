package main

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// setMemoryLimit turns the container's memory limit (FLOWSHIP_MEMORY_LIMIT,
// from the DaemonSet's resourceFieldRef) into the runtime's soft limit at
// memoryLimitShare, and leaves an explicit GOMEMLIMIT alone (issue 12).
func TestSetMemoryLimit(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    int64
		wantErr string
	}{
		{"nothing set: no limit", map[string]string{}, 0, ""},
		{"the container's limit: 80% of it", map[string]string{"FLOWSHIP_MEMORY_LIMIT": "268435456"}, 214748364, ""},
		{"GOMEMLIMIT set: the runtime already follows it", map[string]string{"GOMEMLIMIT": "100MiB", "FLOWSHIP_MEMORY_LIMIT": "268435456"}, 0, ""},
		{"empty: no limit", map[string]string{"FLOWSHIP_MEMORY_LIMIT": ""}, 0, ""},
		{"not bytes", map[string]string{"FLOWSHIP_MEMORY_LIMIT": "256Mi"}, 0, `FLOWSHIP_MEMORY_LIMIT="256Mi"`},
		{"zero", map[string]string{"FLOWSHIP_MEMORY_LIMIT": "0"}, 0, "in bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The test process has no limit; a set GOMEMLIMIT is simulated by
			// the lookup only, so the runtime's limit stays unset.
			old := debug.SetMemoryLimit(math.MaxInt64)
			defer debug.SetMemoryLimit(old)
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			got, err := setMemoryLimit(lookup)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || softMemoryLimit() != tc.want {
				t.Errorf("limit %d (runtime %d), want %d", got, softMemoryLimit(), tc.want)
			}
		})
	}
}

// Starting the collector leaves the GC percent alone (GOGC or Go's 100):
// it used to raise it to 200, which let garbage grow to three times the
// live heap (595-651 MiB peak RSS on the 1M-line backlog, issue 12).
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
