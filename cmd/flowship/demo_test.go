package main

import (
	"bytes"
	"context"
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
