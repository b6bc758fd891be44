package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/aggregator"
	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
	"github.com/flowship/flowship/retention"
)

// TestMaxAgeDefaultsFromRetention: collect and aggregate build the
// aggregator from aggregationConfig, which fills a max_age of 0 from the
// kind's retention_days and keeps one that is set.
func TestMaxAgeDefaultsFromRetention(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Retention.Kinds.L7.RetentionDays = 3
	cfg.Aggregation.MaxAge.DNS = 48 * time.Hour
	got := aggregationConfig(cfg).MaxAge
	want := aggregator.MaxAge{
		Flows: time.Duration(retention.DefaultConfig().Kinds.Flows.RetentionDays) * 24 * time.Hour,
		L7:    72 * time.Hour,
		DNS:   48 * time.Hour,
	}
	if got != want {
		t.Fatalf("max_age = %+v, want %+v", got, want)
	}
}

// TestTooOldAgreesWithRetention: with max_age from retention_days, the
// aggregator refuses a line exactly when managed retention deletes (or has
// deleted) the daily index the line would go to — so a replay of old lines
// never creates a deleted index again, and no line of a live index is
// refused. Random instants around day boundaries, retention 1 to 10 days.
func TestTooOldAgreesWithRetention(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 4))
	base := time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC).Unix()
	for i := range 2000 {
		days := 1 + rng.IntN(10)
		now := base + rng.Int64N(20*86400)
		if i%4 == 0 {
			now = now - now%86400 + rng.Int64N(3) - 1 // around midnight
		}
		end := now - rng.Int64N(int64(days+2)*86400)
		if i%5 == 0 {
			end = end - end%86400 + rng.Int64N(3) - 1
		}
		cfg := DefaultConfig()
		cfg.Retention.Kinds.Flows.RetentionDays = days
		ac := aggregationConfig(cfg)
		ac.Cluster, ac.Node = "c", "n"
		ac.MaxFuture = 0
		ac.Now = func() time.Time { return time.Unix(now, 0) }
		sink := &pipelinetest.Sink{}
		a, err := aggregator.New(ac, pipeline.NopTelemetry(), sink)
		if err != nil {
			t.Fatal(err)
		}
		l := []byte(flowLine(t, end-10, end))
		if err := a.Consume(context.Background(), pipeline.Batch{Records: []pipeline.Record{{Kind: pipeline.KindFlow, Value: l, Source: "f", Line: 1}}, Ack: pipeline.Nop}); err != nil {
			t.Fatal(err)
		}
		refused := a.Stats(pipeline.KindFlow).Rejected == 1
		day := time.Unix(end-((end%86400)+86400)%86400, 0).UTC()
		if expired := retention.Expired(day, days, time.Unix(now, 0)); refused != expired {
			t.Fatalf("retention_days %d, now %s, end_time %s: aggregator refused=%v, retention expired=%v",
				days, time.Unix(now, 0).UTC(), time.Unix(end, 0).UTC(), refused, expired)
		}
	}
}

// flowLine returns the first spec §3.5 sample line with start_time and
// end_time replaced.
func flowLine(t *testing.T, start, end int64) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "aggregator", "testdata", "spec35_level0", "input.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(src), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(first), &m); err != nil {
		t.Fatal(err)
	}
	m["start_time"], m["end_time"] = start, end
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAggregateRefusesLikeCollect: `flowship aggregate` applies the same
// window as collect (same config, --now for the clock): the summary counts
// the refused lines, the dead-letter log names each reason, and only the
// good line becomes a document.
func TestAggregateRefusesLikeCollect(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC).Unix()
	flow := func(start, end int64) string { return flowLine(t, start, end) }
	lines := []string{
		flow(now-300, now-10),             // good
		flow(0, 0),                        // end_time_zero
		flow(now-10, now-20),              // end_before_start
		flow(now, now+2*3600),             // future
		flow(now-9*86400, now-9*86400+10), // too_old (flows: 8 days)
	}
	in := filepath.Join(dir, "flows.log")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dlq := filepath.Join(dir, "dead.jsonl")
	conf := filepath.Join(dir, "flowship.yaml")
	if err := os.WriteFile(conf, []byte("aggregation:\n  dead_letter_log: "+dlq+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"aggregate", "--config", conf, "--now", "2025-06-10T12:00:00Z", "--level", "0", in}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Errorf("%d documents, want 1 (the good line)", n)
	}
	if !strings.Contains(errb.String(), "rejected: 4 lines") {
		t.Errorf("summary does not count 4 rejected lines:\n%s", errb.String())
	}
	b, err := os.ReadFile(dlq)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e struct {
			Reason string `json:"reason"`
			Line   int64  `json:"line"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		reasons = append(reasons, e.Reason)
	}
	if got, want := strings.Join(reasons, ","), "end_time_zero,end_before_start,future,too_old"; got != want {
		t.Errorf("dead-letter reasons %s, want %s", got, want)
	}
	// Without --now the clock (2026 or later) puts every line past the
	// retention: the summary says so and points to --now.
	errb.Reset()
	out.Reset()
	if code := run(context.Background(), []string{"aggregate", "--config", conf, "--level", "0", in}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if out.Len() != 0 || !strings.Contains(errb.String(), "rejected: 5 lines") || !strings.Contains(errb.String(), "--now") {
		t.Errorf("by the clock: %d bytes of documents, summary:\n%s", out.Len(), errb.String())
	}
}
