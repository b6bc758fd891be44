//go:build integration

package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoSourcesRealServices runs `flowship demo --source hubble` and
// `--source goldmane` against the real Kafka and Elasticsearch of
// services.sh (FLOWSHIP_KAFKA_BROKERS, FLOWSHIP_ES_URL): the documents
// counted in Elasticsearch must equal those the offline path expects.
// Not parallel: each demo run deletes the demo indices of earlier runs.
func TestDemoSourcesRealServices(t *testing.T) {
	if os.Getenv("FLOWSHIP_KAFKA_BROKERS") == "" || os.Getenv("FLOWSHIP_ES_URL") == "" {
		t.Skip("FLOWSHIP_KAFKA_BROKERS / FLOWSHIP_ES_URL not set (eval \"$(bash deploy/local/services.sh env)\")")
	}
	for _, source := range []string{"hubble", "goldmane"} {
		t.Run(source, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			var out, errb bytes.Buffer
			args := []string{"demo", "--source", source, "--ui=false", "--windows", "2", "--flows-per-window", "2000", "--dir", t.TempDir(), "--timeout", "2m"}
			if code := run(ctx, args, &out, &errb); code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
			}
			s := out.String()
			m := regexp.MustCompile(`(\d+) of (\d+) documents landed\n\nDocuments per index`).FindStringSubmatch(s)
			if m == nil || m[1] != m[2] || m[2] == "0" {
				t.Fatalf("not every document landed:\n%s", s)
			}
			if !strings.Contains(s, "flowship-flows-demo-*") || strings.Count(s[strings.Index(s, "Top denied flows"):], "|") < 2 {
				t.Errorf("no flows index or no denied flow with its policy:\n%s", s)
			}
			t.Log(s)
		})
	}
}
