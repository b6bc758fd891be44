package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenToStdoutIsDeterministic(t *testing.T) {
	gen := func(args ...string) (string, string) {
		var out, errb bytes.Buffer
		if err := runGen(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("runGen(%v): %v", args, err)
		}
		return out.String(), errb.String()
	}
	a, summary := gen("--kind", "flows", "--lines", "150", "--seed", "9", "--workloads", "40", "--namespaces", "5", "--nodes", "3")
	b, _ := gen("--kind", "flows", "--lines", "150", "--seed", "9", "--workloads", "40", "--namespaces", "5", "--nodes", "3")
	if a != b {
		t.Fatal("same flags gave different output")
	}
	if n := strings.Count(a, "\n"); n != 150 {
		t.Fatalf("%d lines, want 150", n)
	}
	if !strings.HasPrefix(a, `{"start_time":1749542400,`) || strings.Contains(a, `"qname"`) {
		t.Fatalf("output is not flows only from the default start: %.80s", a)
	}
	if !strings.Contains(summary, "flows 150 lines") || !strings.Contains(summary, "seed 9") {
		t.Fatalf("summary %q", summary)
	}
	c, _ := gen("--kind", "flows", "--lines", "150", "--seed", "10", "--workloads", "40", "--namespaces", "5", "--nodes", "3")
	if a == c {
		t.Fatal("another seed gave the same output")
	}
}

func TestGenToDirectory(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := runGen(context.Background(), []string{"--out", dir, "--windows", "2", "--rotate-size", "64KiB",
		"--start", "2025-01-02T03:04:05Z", "--level", "2", "--deny-ratio", "0.2"}, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("wrote %d bytes to stdout in directory mode", out.Len())
	}
	for _, p := range []string{"flowlogs/flows.log", "l7logs/l7.log", "dnslogs/dns.log"} {
		data, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || len(data) == 0 {
			t.Fatalf("%s: %v (%d bytes)", p, err, len(data))
		}
	}
	rotated, _ := filepath.Glob(filepath.Join(dir, "flowlogs", "flows-2025-01-02T03-*.log"))
	if len(rotated) == 0 {
		t.Fatal("no rotated flows file named after the simulated time")
	}
	if !strings.Contains(errb.String(), "2 windows") || !strings.Contains(errb.String(), "rotations") {
		t.Fatalf("summary %q", errb.String())
	}
}

func TestGenUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, "bogus"},
		{"kind", []string{"--kind", "waf"}, "--kind"},
		{"start", []string{"--start", "yesterday"}, "--start"},
		{"rotate size", []string{"--rotate-size", "big"}, "--rotate-size"},
		{"level", []string{"--level", "5"}, "synth.level"},
		{"deny ratio", []string{"--deny-ratio", "2"}, "synth.deny_ratio"},
		{"negative lines", []string{"--lines", "-1"}, "--lines"},
		{"positional", []string{"extra"}, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := runGen(context.Background(), tc.args, &bytes.Buffer{}, &bytes.Buffer{})
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (%T), want a usageError mentioning %q", err, err, tc.want)
			}
		})
	}
}

func TestGenHelpIsNotAnError(t *testing.T) {
	var errb bytes.Buffer
	if err := runGen(context.Background(), []string{"-h"}, &bytes.Buffer{}, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "-rotate-size") {
		t.Fatalf("help does not list the flags: %q", errb.String())
	}
}

func TestGenStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var errb bytes.Buffer
	if err := runGen(ctx, []string{"--windows", "0", "--out", t.TempDir()}, &bytes.Buffer{}, &errb); err != nil {
		t.Fatalf("interrupted run returned %v, want nil and a summary", err)
	}
	if !strings.Contains(errb.String(), "0 windows") {
		t.Fatalf("summary %q", errb.String())
	}
}

func TestGenLabelsAndPoliciesFlags(t *testing.T) {
	tests := []struct {
		name                  string
		args                  []string
		wantLabels, wantTrace bool
	}{
		{"defaults fill both", nil, true, true},
		{"labels off", []string{"--labels=false"}, false, true},
		{"both off, Felix's own defaults", []string{"--labels=false", "--policies=false"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"--kind", "flows", "--lines", "50"}, tt.args...)
			if err := runGen(context.Background(), args, &out, &errb); err != nil {
				t.Fatal(err)
			}
			s := out.String()
			if got := strings.Contains(s, `"source_labels":{"labels":`); got != tt.wantLabels {
				t.Errorf("labels filled = %v, want %v", got, tt.wantLabels)
			}
			if got := strings.Contains(s, `"policies":{"all_policies":`); got != tt.wantTrace {
				t.Errorf("policies filled = %v, want %v", got, tt.wantTrace)
			}
			if !tt.wantTrace && !strings.Contains(s, `"policies":null`) {
				t.Error(`policies off but no "policies":null`)
			}
		})
	}
}
