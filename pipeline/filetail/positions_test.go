package filetail

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

func TestCorruptPositionsFileIsKeptAsideAndStartsPerStartAt(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"not json", "{\"version\":1,\"files\":[{"},
		{"unknown version", `{"version":99,"kind":"flows","files":[]}`},
		{"other kind", `{"version":1,"kind":"dns","files":[]}`},
		{"bad fingerprint", `{"version":1,"kind":"flows","files":[{"path":"/x","dev":1,"inode":2,"fingerprint":"zz","fingerprint_bytes":3,"offset":4}]}`},
		{"negative offset", `{"version":1,"kind":"flows","files":[{"path":"/x","dev":1,"inode":2,"fingerprint":"0","fingerprint_bytes":0,"offset":-4}]}`},
		{"unknown key", `{"version":1,"kind":"flows","files":[],"extra":true}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			appendFile(t, filepath.Join(dir, "flows.log"), numbered("x", 0, 5))
			if err := os.MkdirAll(filepath.Dir(cfg.PositionsFile), 0o755); err != nil {
				t.Fatal(err)
			}
			appendFile(t, cfg.PositionsFile, tc.content)
			sink := &pipelinetest.Sink{}
			r := start(t, cfg, sink)
			waitFor(t, "lines from the beginning", func() bool { return len(sink.Records()) == 5 })
			kept, err := os.ReadFile(cfg.PositionsFile + ".corrupt")
			if err != nil || string(kept) != tc.content {
				t.Fatalf(".corrupt copy = %q, %v; want the original content", kept, err)
			}
			if n := r.counter(t, "flowship_filetail_positions_errors_total"); n < 1 {
				t.Fatalf("positions errors = %d, want ≥ 1", n)
			}
			r.stop(t)
			if doc := readPositions(t, cfg.PositionsFile); doc.Files[0].Offset != 5*9 {
				t.Fatalf("new positions file offset = %d", doc.Files[0].Offset)
			}
		})
	}
}

func TestStateIsWrittenWithOffsetsAndRestored(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	appendFile(t, filepath.Join(dir, "flows.log"), numbered("x", 0, 3))
	sink := &pipelinetest.Sink{}
	r := start(t, cfg, sink)
	if s := r.t.State(); s != nil {
		t.Fatalf("State on a first start = %s, want nil", s)
	}
	waitFor(t, "lines", func() bool { return len(sink.Records()) == 3 })
	r.t.SetState(json.RawMessage(`{"last_flushed_bucket":1749542400}`))
	r.stop(t)

	data, err := os.ReadFile(cfg.PositionsFile)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if string(raw["state"]) != `{"last_flushed_bucket":1749542400}` {
		t.Fatalf("state in file = %s", raw["state"])
	}
	tl, err := New(cfg, pipeline.NopTelemetry(), &pipelinetest.Sink{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(tl.State()); got != `{"last_flushed_bucket":1749542400}` {
		t.Fatalf("restored state = %s", got)
	}
}

func TestRestartWithReusedInodeReadsNewFileFromStart(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	live := filepath.Join(dir, "flows.log")
	appendFile(t, live, numbered("new", 0, 4))
	fi, _ := os.Stat(live)
	id, _ := statID(fi)
	// A saved position for the same dev+inode, but other leading bytes: the
	// old file was deleted while we were stopped and its inode reused.
	doc := positionsDoc{Version: 1, Kind: "flows", Files: []filePosition{{
		Path: live, Dev: id.Dev, Inode: id.Inode, Fingerprint: fmt.Sprintf("%016x", uint64(12345)),
		FingerprintBytes: 10, Offset: 18, Line: 3,
	}}}
	data, _ := json.Marshal(doc)
	if err := writeAtomic(cfg.PositionsFile, data); err != nil {
		t.Fatal(err)
	}
	sink := &pipelinetest.Sink{}
	start(t, cfg, sink)
	waitFor(t, "lines", func() bool { return len(sink.Records()) == 4 })
	wantLines(t, sink.Records(), numbered("new", 0, 4))
}

func TestRestartMatchesRenamedFileByIdentity(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	live := filepath.Join(dir, "flows.log")
	appendFile(t, live, numbered("a", 0, 3)+strings.Repeat("z", 2000)+"\n") // longer than the fingerprint
	s1 := &pipelinetest.Sink{}
	r1 := start(t, cfg, s1)
	waitFor(t, "lines", func() bool { return len(s1.Records()) == 4 })
	r1.stop(t)
	if fp := readPositions(t, cfg.PositionsFile).Files[0].FingerprintBytes; fp != FingerprintSize {
		t.Fatalf("fingerprint over %d bytes, want %d", fp, FingerprintSize)
	}
	appendFile(t, live, numbered("a", 3, 6))
	if err := os.Rename(live, filepath.Join(dir, "flows-2025-06-10T08-15-02.417.log")); err != nil {
		t.Fatal(err)
	}
	s2 := &pipelinetest.Sink{}
	start(t, cfg, s2)
	waitFor(t, "lines", func() bool { return len(s2.Records()) == 3 })
	wantLines(t, s2.Records(), numbered("a", 3, 6))
}

func TestFingerprintGrowsWithTheFile(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	live := filepath.Join(dir, "flows.log")
	appendFile(t, live, "short\n")
	sink := &pipelinetest.Sink{}
	r := start(t, cfg, sink)
	waitFor(t, "line", func() bool { return len(sink.Records()) == 1 })
	appendFile(t, live, strings.Repeat("y", 3000)+"\n")
	waitFor(t, "line 2", func() bool { return len(sink.Records()) == 2 })
	r.stop(t)
	f := readPositions(t, cfg.PositionsFile).Files[0]
	want, _, _ := fingerprintOf(strings.NewReader("short\n"+strings.Repeat("y", 3000)+"\n"), FingerprintSize)
	if f.FingerprintBytes != FingerprintSize || f.Fingerprint != want.String() {
		t.Fatalf("fingerprint = %s over %d bytes, want %s over %d", f.Fingerprint, f.FingerprintBytes, want, FingerprintSize)
	}
}

func TestWriteAtomicLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "p.json")
	for _, s := range []string{"one", "two"} {
		if err := writeAtomic(p, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(p)
	ents, _ := os.ReadDir(filepath.Dir(p))
	if string(got) != "two" || len(ents) != 1 {
		t.Fatalf("content %q, %d entries in dir, want \"two\" and 1", got, len(ents))
	}
}

// TestStateIsNeverOlderThanItsOffsets: a later stage sets, for each
// batch, a state naming the offset that batch ends at, then calls the
// batch's ack (the aggregator's order). Every snapshot taken meanwhile
// pairs a state with an offset at or before the one it names, never
// after: a restart never resumes past what the state covers.
func TestStateIsNeverOlderThanItsOffsets(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.BatchLines, cfg.MaxInflightBatches = 10, 100
	appendFile(t, filepath.Join(dir, "flows.log"), numbered("x", 0, 500))
	var mu sync.Mutex
	var held []pipeline.Ack
	keep := pipeline.ConsumerFunc(func(_ context.Context, b pipeline.Batch) error {
		mu.Lock()
		held = append(held, b.Ack)
		mu.Unlock()
		return nil
	})
	r := start(t, cfg, keep)
	waitFor(t, "all batches", func() bool { mu.Lock(); defer mu.Unlock(); return len(held) == 50 })
	stop := make(chan struct{})
	bad := make(chan string, 1)
	snapshots := 0
	go func() {
		defer close(bad)
		for {
			select {
			case <-stop:
				return
			default:
			}
			doc, _ := r.t.snapshot()
			snapshots++
			state := int64(0)
			if doc.State != nil {
				if err := json.Unmarshal(doc.State, &state); err != nil {
					bad <- err.Error()
					return
				}
			}
			if off := doc.Files[0].Offset; off > state {
				bad <- fmt.Sprintf("offset %d written with the older state %d", off, state)
				return
			}
		}
	}()
	for i, ack := range held {
		r.t.SetState(json.RawMessage(fmt.Sprint((i + 1) * 10 * 9)))
		ack(nil)
	}
	close(stop)
	if msg, ok := <-bad; ok {
		t.Fatal(msg)
	}
	if doc, _ := r.t.snapshot(); doc.Files[0].Offset != 500*9 || string(doc.State) != "4500" {
		t.Fatalf("final snapshot: offset %d, state %s; want 4500 and 4500", doc.Files[0].Offset, doc.State)
	}
	t.Logf("%d snapshots checked", snapshots)
}
