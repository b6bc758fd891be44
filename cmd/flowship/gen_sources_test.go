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
	// --rotate-size rotates events.log as the exporter does: every event in
	// the backups and events.log, in order, as on stdout.
	var stdoutLines, errb0 bytes.Buffer
	rargs := []string{"gen", "--kind", "hubble", "--seed", "3", "--start", "2025-06-10T08:00:00Z", "--lines", "300"}
	if code := run(context.Background(), rargs, &stdoutLines, &errb0); code != 0 {
		t.Fatal(errb0.String())
	}
	rdir := t.TempDir()
	if code := run(context.Background(), append(rargs, "--out", rdir, "--rotate-size", "64KiB", "--max-backups", "0"), &bytes.Buffer{}, &errb0); code != 0 {
		t.Fatal(errb0.String())
	}
	backups, _ := filepath.Glob(filepath.Join(rdir, "hubble", "events-*.log"))
	var joined []byte
	for _, f := range append(backups, filepath.Join(rdir, "hubble", "events.log")) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		joined = append(joined, b...)
	}
	if len(backups) < 2 || !bytes.Equal(joined, stdoutLines.Bytes()) {
		t.Fatalf("%d backups (want at least 2: %d bytes at 64KiB); rotated files hold the same lines: %v\n%s",
			len(backups), stdoutLines.Len(), bytes.Equal(joined, stdoutLines.Bytes()), errb0.String())
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
