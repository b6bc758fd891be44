package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenHubbleAndGoldmane(t *testing.T) {
	dir := t.TempDir()
	for _, kind := range []string{"hubble", "goldmane"} {
		var a, b, errb bytes.Buffer
		args := []string{"gen", "--kind", kind, "--seed", "3", "--start", "2025-06-10T08:00:00Z", "--lines", "300", "--windows", "2", "--flows-per-window", "20"}
		if code := run(context.Background(), args, &a, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", kind, code, errb.String())
		}
		if code := run(context.Background(), args, &b, &errb); code != 0 || a.String() != b.String() || a.Len() == 0 {
			t.Fatalf("%s: not deterministic with --seed", kind)
		}
		if code := run(context.Background(), append(args, "--out", dir), &b, &errb); code != 0 {
			t.Fatalf("%s --out: %s", kind, errb.String())
		}
	}
	hubble := filepath.Join(dir, "hubble", "events.log")
	goldmane := filepath.Join(dir, "goldmane", "flows.ndjson")
	if b, _ := os.ReadFile(goldmane); strings.Count(string(b), "\n") != 40 {
		t.Fatalf("goldmane file has %d lines, want 2 windows x 20", strings.Count(string(b), "\n"))
	}
	// aggregate tells the Hubble file's kind from its name-less content.
	renamed := filepath.Join(dir, "capture.jsonl")
	if err := os.Rename(hubble, renamed); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"aggregate", "--now", "2025-06-10T12:00:00Z", renamed}, &out, &errb); code != 0 || out.Len() == 0 {
		t.Fatalf("aggregate of generated Hubble lines: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "flows") || !strings.Contains(errb.String(), "l7") {
		t.Errorf("summary lacks flows or l7:\n%s", errb.String())
	}
}
