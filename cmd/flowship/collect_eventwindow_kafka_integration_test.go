//go:build integration

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
	"github.com/flowship/flowship/schema/synth"
)

// TestCollectKafkaEventWindowAgreesWithAggregate (issue 13 #4): lines
// outside the event-time window — end_time 0, end_time before start_time,
// two hours ahead of the clock, ten days old (past the flows retention of
// 8 days that max_age defaults to) — mixed into recent Felix windows. On
// the real broker, collect must acknowledge the whole file (no line pins
// its position), the topic must hold exactly the documents `flowship
// aggregate` makes of the same file with the same config, and both
// dead-letter logs must hold the same refused lines with the same reasons.
func TestCollectKafkaEventWindowAgreesWithAggregate(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	bin := buildFlowship(t)
	dir := workDir(t)
	env := collectEnv(t, dir, brokers, filepath.Join(dir, "state", "bad-lines.jsonl"))
	conf := filepath.Join(dir, "window.yaml")
	writeOutageConfig(t, conf, "")

	g := synth.DefaultConfig()
	g.Seed = 1304
	g.FlowsPerWindow, g.Windows, g.Kinds = 200, 3, []pipeline.Kind{pipeline.KindFlow}
	g.Start = time.Now().UTC().Truncate(g.Window).Add(-4 * g.Window)
	gen := synth.New(g)
	var lines [][]byte
	for range g.Windows {
		lines = append(lines, gen.Next(pipeline.KindFlow).Flows...)
	}
	now := time.Now().Unix()
	refused := map[string]string{} // raw line → reason
	for i, tc := range []struct {
		start, end int64
		reason     string
	}{
		{0, 0, "end_time_zero"},
		{now - 100, now - 200, "end_before_start"},
		{now + 7000, now + 7200, "future"},
		{now - 10*86400 - 300, now - 10*86400, "too_old"},
	} {
		var m map[string]any
		if err := json.Unmarshal(lines[i*50], &m); err != nil {
			t.Fatal(err)
		}
		m["start_time"], m["end_time"] = tc.start, tc.end
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		refused[string(b)] = tc.reason
		at := 30 + i*150
		lines = slices.Insert(lines, at, append(b, '\n'))
	}
	live := filepath.Join(dir, "flowlogs", "flows.log")
	if err := os.WriteFile(live, bytes.Join(lines, nil), 0o644); err != nil {
		t.Fatal(err)
	}

	c := startCollectorWith(t, bin, dir, env, conf)
	tr := &topicReader{brokers: brokers, topic: env["IT_TOPIC_FLOWS"], docs: map[string]any{}}
	want, _ := aggregateOfflineWith(t, bin, env, conf, []string{live})
	// No refused line may pin the file: the whole file is acknowledged.
	positions := filepath.Join(dir, "state", "flows.positions.json")
	waitFor(t, 60*time.Second, "the whole file acknowledged", func() (bool, string, error) {
		report, done := drained(positions, []string{live})
		return done, report, nil
	})
	waitDelivered(t, c, tr, want, positions, []string{live})
	c.stop(t)
	tr.poll(t)
	t.Logf("kafka: %d messages, %d documents; offline: %d documents", tr.messages, len(tr.docs), len(want))
	compareDocs(t, dir, tr.docs, want)

	online := readRefused(t, filepath.Join(dir, "state", "bad-lines.jsonl"))
	offline := readRefused(t, filepath.Join(dir, "state", "offline-bad-lines.jsonl"))
	for raw, reason := range refused {
		if online[raw] != reason || offline[raw] != reason {
			t.Errorf("line %.80s…: collect dead-lettered it as %q, aggregate as %q, want %q", raw, online[raw], offline[raw], reason)
		}
	}
	if len(online) != len(refused) || len(offline) != len(refused) {
		t.Errorf("dead-letter logs: collect %d lines, aggregate %d, want the %d refused", len(online), len(offline), len(refused))
	}
}

// readRefused reads an aggregator dead-letter log: raw line → reason.
func readRefused(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e struct {
			Raw    string `json:"raw"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%s: %q: %v", path, l, err)
		}
		out[e.Raw] = e.Reason
	}
	return out
}
