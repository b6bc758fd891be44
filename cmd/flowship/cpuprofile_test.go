package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --cpu-profile (collect, index) writes a gzip-compressed pprof profile
// once the run ends; a path that cannot be created is an error naming the
// flag.
func TestStartCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	stop, err := startCPUProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := range 3_000_000 {
		x += i % 7
	}
	_ = x
	stop()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile is not gzip data (%d bytes)", len(b))
	}
	if _, err := startCPUProfile(filepath.Join(t.TempDir(), "missing", "cpu.pprof")); err == nil || !strings.Contains(err.Error(), "--cpu-profile") {
		t.Fatalf("bad path: %v", err)
	}
}
