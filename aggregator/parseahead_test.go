package aggregator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
	"github.com/flowship/flowship/schema/synth"
)

// parseAheadRun aggregates lines (every kind mixed in each batch, as
// Consume allows) in batches of size, flushes, and returns the documents
// in output order, the stats per kind, the dead-letter log and how many
// lines were parsed ahead.
//
// With scribble, every line's bytes are overwritten once Consume returned
// (what a tailer that reuses its buffers does).
func parseAheadRun(t *testing.T, cfg Config, recs []pipeline.Record, size int, scribble bool) (docs []string, stats map[pipeline.Kind]Stats, dead []byte, ahead int64) {
	t.Helper()
	cfg.DeadLetterLog = filepath.Join(t.TempDir(), "dead.jsonl")
	sink := &pipelinetest.Sink{}
	a, err := New(cfg, pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var acks ackRecorder
	batches := 0
	for i := 0; i < len(recs); i += size {
		in := recs[i:min(i+size, len(recs))]
		if scribble { // lines in memory of their own, overwritten below
			in = slices.Clone(in)
			for j := range in {
				in[j].Value = bytes.Clone(in[j].Value)
			}
		}
		b := pipeline.Batch{Records: in, Ack: acks.ack(batches)}
		if err := a.Consume(ctx, b); err != nil {
			t.Fatal(err)
		}
		if scribble {
			for j := range in {
				for k := range in[j].Value {
					in[j].Value[k] = 'x'
				}
				in[j].Source, in[j].File = "scribbled", "scribbled"
			}
		}
		batches++
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sink.AckAll(nil)
	for i := range batches {
		if n, err := acks.get(i); n != 1 || err != nil {
			t.Fatalf("batch %d acknowledged %d times (%v), want once with nil", i, n, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := a.Run(cctx); err != nil { // closes the dead-letter log
		t.Fatal(err)
	}
	for _, r := range sink.Records() {
		docs = append(docs, string(r.Key)+" "+string(r.Value))
	}
	stats = map[pipeline.Kind]Stats{}
	for _, k := range pipeline.Kinds {
		stats[k] = a.Stats(k)
		if s := a.stream(k); s != nil {
			s.mu.Lock()
			ahead += s.parsedAhead
			s.mu.Unlock()
		}
	}
	dead, err = os.ReadFile(cfg.DeadLetterLog)
	if err != nil {
		t.Fatal(err)
	}
	return docs, stats, dead, ahead
}

// deadEntries decodes a dead-letter log without the entries' wall-clock
// times.
func deadEntries(t *testing.T, raw []byte) []string {
	t.Helper()
	var out []string
	for _, l := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		var e pipeline.DeadLetterEntry
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("dead-letter line %q: %v", l, err)
		}
		e.Time = time.Time{}
		out = append(out, fmt.Sprintf("%+v", e))
	}
	return out
}

// Parsing ahead on a second goroutine (and encoding every other output
// batch of a flush on it) changes nothing in what comes out, nor does
// overwriting the input lines once Consume returned (batches of 1000: the
// aggregator keeps no view into a line, so the tailer may reuse its
// buffers):
// the same documents in the same order, the same stats and the same
// dead-letter entries as parsing inline, for batch sizes around the
// chunking (one chunk short of the threshold, chunks that do not divide
// the batch, many chunks), with bad lines, filtered lines and all three
// kinds mixed in each batch. The generator's labels and policies are on.
func TestParseAheadSameOutput(t *testing.T) {
	dir := t.TempDir()
	g := synth.DefaultConfig()
	g.FlowsPerWindow, g.L7PerWindow, g.DNSPerWindow, g.Windows = 1500, 150, 150, 2
	if _, err := synth.New(g).Run(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	var recs []pipeline.Record
	for _, f := range []struct {
		kind pipeline.Kind
		path string
	}{
		{pipeline.KindFlow, "flowlogs/flows.log"},
		{pipeline.KindL7, "l7logs/l7.log"},
		{pipeline.KindDNS, "dnslogs/dns.log"},
	} {
		for i, l := range readLines(t, filepath.Join(dir, f.path)) {
			switch {
			case i%97 == 13:
				l = l[:len(l)/2] // cut: a bad line
			case i%89 == 5:
				l = bytes.Replace(l, []byte(`"action":"allow"`), []byte(`"action":"allow",`), 1) // bad JSON
			}
			recs = append(recs, pipeline.Record{Kind: f.kind, Value: l, Source: f.path, File: f.path, Offset: int64(i) * 4096, Line: int64(i + 1)})
		}
	}
	// Interleave the kinds so each batch holds all three.
	mixed := make([]pipeline.Record, 0, len(recs))
	var flows, others []pipeline.Record
	for _, r := range recs {
		if r.Kind == pipeline.KindFlow {
			flows = append(flows, r)
		} else {
			others = append(others, r)
		}
	}
	for i, r := range flows {
		mixed = append(mixed, r)
		if i%10 == 0 && len(others) > 0 {
			mixed, others = append(mixed, others[0]), others[1:]
		}
	}
	mixed = append(mixed, others...)

	cfg := testConfig()
	cfg.MaxAge = MaxAge{}
	cfg.Levels = Levels{Allowed: 2, Denied: 1}
	cfg.MaxBatchRecords = 70 // flushes of several output batches: encoded on two goroutines
	cfg.Filters = parseRules(t, `
filters:
  - {name: drop-one-namespace, kind: flows, action: exclude, match: {field: source_namespace, equals: billing}}
`)
	for _, size := range []int{2*parseChunk - 1, 2 * parseChunk, 1000, 3*parseChunk + 7, len(mixed)} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			cfg.ParseAhead = false
			wantDocs, wantStats, wantDead, ahead := parseAheadRun(t, cfg, mixed, size, false)
			if ahead != 0 {
				t.Fatalf("%d lines parsed ahead with parse_ahead off", ahead)
			}
			cfg.ParseAhead = true
			docs, stats, dead, ahead := parseAheadRun(t, cfg, mixed, size, size == 1000)
			if size >= 2*parseChunk && ahead == 0 {
				t.Fatal("no line was parsed ahead: the test does not exercise the second goroutine")
			}
			if size < 2*parseChunk && ahead != 0 {
				t.Fatalf("%d lines parsed ahead in batches of %d (fewer than %d flow lines)", ahead, size, 2*parseChunk)
			}
			st := wantStats[pipeline.KindFlow]
			if st.Bad == 0 || st.Filtered == 0 || len(wantDocs) == 0 || len(wantDead) == 0 {
				t.Fatalf("the input must have bad, filtered and aggregated lines: %+v, %d documents", st, len(wantDocs))
			}
			if len(docs) != len(wantDocs) {
				t.Fatalf("%d documents parsed ahead, %d inline", len(docs), len(wantDocs))
			}
			for i := range docs {
				if docs[i] != wantDocs[i] {
					t.Fatalf("document %d differs:\nahead:  %s\ninline: %s", i, docs[i], wantDocs[i])
				}
			}
			for _, k := range pipeline.Kinds {
				if stats[k] != wantStats[k] {
					t.Errorf("%s stats: ahead %+v, inline %+v", k, stats[k], wantStats[k])
				}
			}
			if a, b := deadEntries(t, dead), deadEntries(t, wantDead); !slices.Equal(a, b) {
				t.Errorf("dead-letter logs differ:\nahead:\n%v\ninline:\n%v", a, b)
			}
		})
	}
}
