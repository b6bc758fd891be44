//go:build integration

package main

// End-to-end tests on the real Kafka and the real Elasticsearch: generated
// Felix/Envoy/DNS logs → collect → Kafka → index → Elasticsearch, compared
// with what the offline aggregator makes of the same input. No test name
// contains "Kafka": make test runs them once, against the main Kafka.
//
// All run in parallel (go test's -parallel bounds how many at once); the
// whole set takes about 3 minutes. Slow: TestIndexerSIGKILL (~3 min: after
// each SIGKILL the group waits out the dead member's 30s session) and
// TestElasticsearchOutage (~2 min: a 60s outage plus a restart). The
// outage and 429 tests each start an Elasticsearch node of their own with
// deploy/local/services.sh, so the shared node is never stopped.

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
	"github.com/flowship/flowship/sinks/kafka"
)

// TestEndToEndCountsAndSums: the documents in Elasticsearch are exactly the
// ones the offline aggregator makes of the same files (same ids, one each,
// in the index of their event day), and the sums of every counter agree
// three ways: raw input lines, offline documents, Elasticsearch sum
// aggregations.
func TestEndToEndCountsAndSums(t *testing.T) {
	t.Parallel()
	e := newE2E(t, testenv.Elasticsearch(t), nil)
	ctx := context.Background()
	if err := e.generate(ctx, testSeed(t), 6, 1500, 0); err != nil {
		t.Fatal(err)
	}
	want := e.offline(ctx)
	collector := e.start("collect", e.cfg, collect)
	indexer := e.start("index", e.cfg, index)
	e.waitLanded(len(want), 2*time.Minute, func() { collector.running(t); indexer.running(t) })
	collector.shutdown(t)
	indexer.shutdown(t)

	e.checkDocSet(ctx, want)
	raw := e.rawSums()
	for _, k := range pipeline.Kinds {
		got, offline := e.esSums(ctx, k, counters[k]), docSums(want, k, counters[k])
		for _, f := range counters[k] {
			// num_flows is not additive over the input: when two Felix windows
			// of one source key fall into one bucket, a connection carried from
			// the first into the second counts once (spec §3.4.2), so the
			// documents may hold less than the lines, never more.
			inputOK := offline[f] == raw[k][f] || (f == "num_flows" && offline[f] <= raw[k][f])
			if got[f] != offline[f] || !inputOK {
				t.Errorf("sum of %s %s: Elasticsearch %d, offline documents %d, input lines %d", k, f, got[f], offline[f], raw[k][f])
			}
		}
		if offline["flowship.records"] == 0 || offline[counters[k][0]] == 0 {
			t.Errorf("%s: generated input has no %s; the comparison proves nothing", k, counters[k][0])
		}
		e.logf("%-5s sums agree: %v", k, got)
	}
	e.checkCommitted(ctx)
}

// rawSums sums the counters over the input lines themselves;
// flowship.records is the number of lines.
func (e *e2e) rawSums() map[pipeline.Kind]map[string]int64 {
	e.t.Helper()
	out := map[pipeline.Kind]map[string]int64{}
	for _, in := range e.cfg.Inputs.Each() {
		lines := readLines(e.t, in.Paths[0])
		sums := map[string]int64{"flowship.records": int64(len(lines))}
		for _, l := range lines {
			for _, f := range counters[in.Kind] {
				if f != "flowship.records" {
					sums[f] += gjson.GetBytes(l, f).Int()
				}
			}
		}
		out[in.Kind] = sums
	}
	return out
}

// TestIndexerSIGKILL: `flowship index` is SIGKILLed at random moments while
// it indexes pre-filled topics, at least five times, and restarted; the
// last run drains. Elasticsearch must end with exactly the expected
// documents, each once, and the group must have committed every record.
func TestIndexerSIGKILL(t *testing.T) {
	t.Parallel()
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	// Small bulks and consumer batches: many commits and many requests in
	// flight, so a kill lands between them.
	e := newE2E(t, testenv.Elasticsearch(t), map[string]string{"IT_BULK_ACTIONS": "100", "IT_CONSUMER_BATCH": "100", "IT_ES_WORKERS": "1"})
	bin := buildFlowship(t)
	ctx := context.Background()
	if err := e.generate(ctx, seed, 12, 2500, 0); err != nil {
		t.Fatal(err)
	}
	want := e.offline(ctx)
	e.produce(ctx, sortedDocs(want))
	e.logf("topics hold %d documents", len(want))

	midRun := 0
	for run := 0; midRun < 5; run++ {
		if run == 10 {
			t.Fatalf("only %d of %d kills landed before every document was indexed; generate more documents", midRun, run)
		}
		p := e.startIndexer(bin, run)
		joined := p.waitLog(t, "kafka: joined consumer group", 2*time.Minute)
		time.Sleep(randDuration(rng, 0, time.Second))
		p.kill(t)
		// Counted after the kill, so the number is what the killed run
		// left. Retried: the run may have killed the indexer right after
		// it created a daily index, whose primary shard can still be
		// unassigned (a _count then answers 503 no_shard_available).
		var n int64
		waitFor(t, 30*time.Second, "a document count after the kill", func() (bool, string, error) {
			_, c, err := e.counts(ctx)
			if err != nil {
				return false, err.Error(), nil
			}
			n = c
			return true, "", nil
		})
		if n < int64(len(want)) {
			midRun++
		}
		e.logf("run %d: joined the group %s after start, SIGKILLed %s after that with %d of %d documents indexed",
			run, joined.Round(100*time.Millisecond), (time.Since(p.started) - joined).Round(100*time.Millisecond), n, len(want))
	}
	p := e.startIndexer(bin, 99)
	e.waitLanded(len(want), 3*time.Minute, func() { p.running(t) })
	p.terminate(t)
	e.checkDocSet(ctx, want)
	e.checkCommitted(ctx)
}

// TestMappingConflictDeadLetter: a flow document whose bytes_in is not a
// number (valid headers, so the reader accepts it) is refused by the real
// mapping; it lands on the dead-letter topic with its reason, status and
// index, unchanged, and every other document is indexed and committed.
func TestMappingConflictDeadLetter(t *testing.T) {
	t.Parallel()
	e := newE2E(t, testenv.Elasticsearch(t), nil)
	ctx := context.Background()
	if err := e.generate(ctx, testSeed(t), 2, 500, 0); err != nil {
		t.Fatal(err)
	}
	want := e.offline(ctx)
	docs := sortedDocs(want)
	var bad pipeline.Record
	for _, r := range docs {
		if r.Kind == pipeline.KindFlow {
			bad = r
			break
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(bad.Value, &doc); err != nil {
		t.Fatal(err)
	}
	doc["bytes_in"] = "not-a-number"
	flowship, _ := doc["flowship"].(map[string]any)
	bad.ID = "e2e-mapping-conflict-" + bad.ID
	flowship["id"] = bad.ID
	bad.Value, _ = json.Marshal(doc)
	mid := len(docs) / 2
	e.produce(ctx, append(append(docs[:mid:mid], bad), docs[mid:]...))

	indexer := e.start("index", e.cfg, index)
	e.waitLanded(len(want), 2*time.Minute, func() { indexer.running(t) })
	var dls []kafka.DeadLetter
	waitFor(t, time.Minute, "dead letters", func() (bool, string, error) {
		dls = e.deadLetters(ctx)
		return len(dls) > 0, "none yet", nil
	})
	indexer.shutdown(t)
	e.checkDocSet(ctx, want)
	e.checkCommitted(ctx)

	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want 1: %+v", len(dls), dls)
	}
	dl := dls[0]
	wantIndex := e.cfg.Index.Elasticsearch.Naming.Index(pipeline.KindFlow, bad.Time)
	switch {
	case dl.Record.ID != bad.ID || dl.Record.Kind != pipeline.KindFlow:
		t.Errorf("dead letter is %s %s, want flows %s", dl.Record.Kind, dl.Record.ID, bad.ID)
	case !jsonEqual(dl.Record.Value, bad.Value):
		t.Errorf("dead letter value differs from the document produced:\n got %s\nwant %s", dl.Record.Value, bad.Value)
	case dl.Status != 400 || dl.Index != wantIndex:
		t.Errorf("dlq.status %d, dlq.index %q; want 400 and %q", dl.Status, dl.Index, wantIndex)
	case !strings.Contains(dl.Reason, "bytes_in") || !strings.Contains(dl.Reason, "parsing_exception"):
		t.Errorf("dlq.reason %q does not say which field failed to parse", dl.Reason)
	case !strings.HasPrefix(dl.Record.Source, e.cfg.Kafka.Topics.Flows+"/"):
		t.Errorf("dlq.source_topic/partition %q, want the flows topic %s", dl.Record.Source, e.cfg.Kafka.Topics.Flows)
	}
	e.logf("dead letter: status %d, index %s, source %s@%d, reason %q", dl.Status, dl.Index, dl.Record.Source, dl.Record.Offset, dl.Reason)
}

// readLines returns the lines of the file at path.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	var out [][]byte
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if l != "" {
			out = append(out, []byte(l))
		}
	}
	return out
}
