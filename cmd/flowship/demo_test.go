package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemoEmbedded runs the demo's embedded default (in-process broker,
// bulk file instead of Elasticsearch) end to end and checks that every
// document the offline aggregator expects landed exactly once.
func TestDemoEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end demo")
	}
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"demo", "--embedded", "--windows", "2", "--flows-per-window", "500", "--dir", t.TempDir(), "--timeout", "90s"}
	if code := run(ctx, args, &out, &errb); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	s := out.String()
	m := regexp.MustCompile(`(\d+) of (\d+) documents landed\n\nDocuments per index`).FindStringSubmatch(s)
	if m == nil || m[1] != m[2] {
		t.Fatalf("not every document landed:\n%s", s)
	}
	var sum int
	for _, line := range regexp.MustCompile(`(?m)^  flowship-(flows|l7|dns)-demo-\S+\s+(\d+)$`).FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(line[2])
		sum += n
	}
	if want, _ := strconv.Atoi(m[2]); sum != want {
		t.Fatalf("documents per index add up to %d, want %d:\n%s", sum, want, s)
	}
	for _, want := range []string{"Reduction by aggregation", "Top denied flows", "denied by (tier|policy)"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Count(s[strings.Index(s, "Top denied flows"):], "|") < 2 {
		t.Errorf("no denied flow with its policy listed:\n%s", s)
	}
}

// TestDemoEmbeddedSources runs the demo's Hubble and Goldmane variants on
// the embedded broker: every document the offline path expects (the
// aggregator over the rotated exporter files; the receiver's documents of
// the posted windows) landed, and the denied flows are listed with their
// policy.
func TestDemoEmbeddedSources(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end demo")
	}
	for _, tc := range []struct {
		source string
		want   []string
	}{
		// 2×4000 events of about 600 bytes rotate at 2MiB twice.
		{"hubble", []string{"Hubble exporter events", "in 3 files (events.log rotated 2 times)", "flowship-l7-demo-"}},
		{"goldmane", []string{"8 Goldmane windows of 100 flows", "Goldmane emitter → receive (mTLS)"}},
	} {
		t.Run(tc.source, func(t *testing.T) {
			var out, errb bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := t.TempDir()
			args := []string{"demo", "--embedded", "--source", tc.source, "--windows", "2", "--flows-per-window", "400", "--dir", dir, "--timeout", "90s"}
			if tc.source == "hubble" {
				args[7] = "4000"
			}
			if code := run(ctx, args, &out, &errb); code != 0 {
				log, _ := os.ReadFile(filepath.Join(dir, "flowship.log"))
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s\nlog:\n%s", code, out.String(), errb.String(), log)
			}
			s := out.String()
			m := regexp.MustCompile(`(\d+) of (\d+) documents landed\n\nDocuments per index`).FindStringSubmatch(s)
			if m == nil || m[1] != m[2] || m[2] == "0" {
				t.Fatalf("not every document landed:\n%s", s)
			}
			for _, want := range append(tc.want, "Top denied flows") {
				if !strings.Contains(s, want) {
					t.Errorf("output lacks %q:\n%s", want, s)
				}
			}
			if strings.Count(s[strings.Index(s, "Top denied flows"):], "|") < 2 {
				t.Errorf("no denied flow with its policy listed:\n%s", s)
			}
		})
	}
}

func TestDemoRefusesUnknownSource(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--embedded", "--source", "felix2", "--dir", t.TempDir()}, &out, &errb); code == 0 ||
		!strings.Contains(errb.String(), `--source "felix2": want calico, hubble or goldmane`) {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
}
