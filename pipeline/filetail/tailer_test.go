package filetail

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

func TestExactOffsetsAndLineNumbers(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	appendFile(t, live, "a\nbb\n\nccc\npartial")
	sink := &pipelinetest.Sink{}
	r := start(t, testConfig(dir), sink)
	waitFor(t, "4 lines", func() bool { return len(sink.Records()) == 4 })
	appendFile(t, live, "-done\n")
	waitFor(t, "5 lines", func() bool { return len(sink.Records()) == 5 })
	r.stop(t)

	want := []pipeline.Record{
		{Value: []byte("a"), Offset: 0, Line: 1},
		{Value: []byte("bb"), Offset: 2, Line: 2},
		{Value: []byte(""), Offset: 5, Line: 3},
		{Value: []byte("ccc"), Offset: 6, Line: 4},
		{Value: []byte("partial-done"), Offset: 10, Line: 5},
	}
	for i, g := range sink.Records() {
		w := want[i]
		if string(g.Value) != string(w.Value) || g.Offset != w.Offset || g.Line != w.Line || g.Source != live || g.Kind != pipeline.KindFlow {
			t.Errorf("record %d = {%q off %d line %d src %s kind %s}, want {%q off %d line %d}",
				i, g.Value, g.Offset, g.Line, g.Source, g.Kind, w.Value, w.Offset, w.Line)
		}
	}
	doc := readPositions(t, testConfig(dir).PositionsFile)
	if len(doc.Files) != 1 || doc.Files[0].Offset != 23 || doc.Files[0].Line != 6 {
		t.Fatalf("positions = %+v, want one file at offset 23, line 6", doc.Files)
	}
}

func TestRenameRotationDrainsOldFileFirst(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	appendFile(t, live, numbered("x", 0, 100))
	sink := &pipelinetest.Sink{}
	start(t, testConfig(dir), sink)
	waitFor(t, "first lines", func() bool { return len(sink.Records()) == 100 })
	// The writer appends, then rotates (rename + new file), then writes on.
	appendFile(t, live, numbered("x", 100, 200))
	if err := os.Rename(live, filepath.Join(dir, "flows-2025-06-10T08-15-02.417.log")); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, numbered("x", 200, 300))
	waitFor(t, "all lines", func() bool { return len(sink.Records()) >= 300 })
	wantLines(t, sink.Records(), numbered("x", 0, 300))
}

func TestRotationFragmentsAreCountedNotPassedOn(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	sink := &pipelinetest.Sink{}
	r := start(t, testConfig(dir), sink)
	appendFile(t, live, "one\n{\"cut\":")
	waitFor(t, "first line", func() bool { return len(sink.Records()) == 1 })
	if err := os.Rename(live, filepath.Join(dir, "flows-2025-06-10T08-15-02.417.log")); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, "\"rest\"}\ntwo\n")
	waitFor(t, "second line", func() bool { return len(sink.Records()) == 2 })
	wantLines(t, sink.Records(), "one\ntwo\n")
	if n := r.counter(t, "flowship_filetail_bad_lines_total", attribute.String("reason", reasonFragment)); n != 2 {
		t.Fatalf("fragments counted = %d, want 2 (trailing and leading)", n)
	}
}

func TestCopyTruncateRestartsAtZero(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	appendFile(t, live, numbered("old", 0, 50))
	sink := &pipelinetest.Sink{}
	r := start(t, testConfig(dir), sink)
	waitFor(t, "old lines", func() bool { return len(sink.Records()) == 50 })
	if err := os.Truncate(live, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "truncation seen", func() bool { return r.counter(t, "flowship_filetail_truncations_total") == 1 })
	appendFile(t, live, numbered("new", 0, 10))
	waitFor(t, "new lines", func() bool { return len(sink.Records()) == 60 })
	wantLines(t, sink.Records(), numbered("old", 0, 50)+numbered("new", 0, 10))
	if got := sink.Records()[50].Offset; got != 0 {
		t.Fatalf("first line after truncation at offset %d, want 0", got)
	}
}

func TestTruncatedAndRegrownIsNoticedByFingerprint(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	appendFile(t, live, numbered("old", 0, 5))
	sink := &pipelinetest.Sink{}
	r := start(t, testConfig(dir), sink)
	waitFor(t, "old lines", func() bool { return len(sink.Records()) == 5 })
	// Rewrite in place, larger than before, before the next poll can see it shrink.
	f, err := os.OpenFile(live, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(numbered("new", 0, 20)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	waitFor(t, "new lines", func() bool { return len(sink.Records()) >= 25 })
	wantLines(t, sink.Records(), numbered("old", 0, 5)+numbered("new", 0, 20))
	if n := r.counter(t, "flowship_filetail_truncations_total"); n != 1 {
		t.Fatalf("truncations = %d, want 1", n)
	}
}

func TestDeletedWhileReadingIsFinished(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	appendFile(t, live, numbered("x", 0, 1000))
	cfg := testConfig(dir)
	cfg.BatchLines = 10
	cfg.MaxInflightBatches = 1
	sink := &pipelinetest.Sink{Hold: true}
	start(t, cfg, sink)
	waitFor(t, "first batch", func() bool { return sink.Batches() == 1 })
	if err := os.Remove(live); err != nil { // reading is paused by backpressure
		t.Fatal(err)
	}
	for len(sink.Records()) < 1000 {
		waitFor(t, "a held batch", func() bool { return sink.AckAll(nil) > 0 || len(sink.Records()) == 1000 })
	}
	wantLines(t, sink.Records(), numbered("x", 0, 1000))
}

func TestLongLinesAreSkippedAlone(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	cfg := testConfig(dir)
	cfg.MaxLineSize = 100
	long := strings.Repeat("L", 200*1024) // spans several reads
	appendFile(t, live, "before\n"+long+"\n"+strings.Repeat("m", 100)+"\n"+strings.Repeat("n", 101)+"\nafter\n")
	sink := &pipelinetest.Sink{}
	r := start(t, cfg, sink)
	waitFor(t, "lines", func() bool { return len(sink.Records()) == 3 })
	wantLines(t, sink.Records(), "before\n"+strings.Repeat("m", 100)+"\nafter\n")
	if want := int64(7 + len(long) + 1 + 101 + 102); sink.Records()[2].Offset != want {
		t.Fatalf("offset of the line after long ones = %d, want %d", sink.Records()[2].Offset, want)
	}
	if n := r.counter(t, "flowship_filetail_bad_lines_total", attribute.String("reason", reasonTooLong)); n != 2 {
		t.Fatalf("too long lines counted = %d, want 2", n)
	}
	if got := sink.Records()[2].Line; got != 5 {
		t.Fatalf("line number after skipped lines = %d, want 5", got)
	}
}

func TestRestartResumesAtAcknowledgedOffset(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	cfg := testConfig(dir)
	appendFile(t, live, numbered("x", 0, 100))
	s1 := &pipelinetest.Sink{}
	r1 := start(t, cfg, s1)
	waitFor(t, "first run", func() bool { return len(s1.Records()) == 100 })
	r1.stop(t)

	// While stopped: more lines, then a rotation, then more lines.
	appendFile(t, live, numbered("x", 100, 150))
	if err := os.Rename(live, filepath.Join(dir, "flows-2025-06-10T08-15-02.417.log")); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, numbered("x", 150, 200))
	s2 := &pipelinetest.Sink{}
	start(t, cfg, s2)
	waitFor(t, "second run", func() bool { return len(s2.Records()) >= 100 })
	wantLines(t, s2.Records(), numbered("x", 100, 200))
	if got := s2.Records()[0].Line; got != 101 {
		t.Fatalf("line number after restart = %d, want 101", got)
	}
}

func TestAckFailureHoldsOffset(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	cfg := testConfig(dir)
	cfg.BatchLines = 10
	appendFile(t, live, numbered("x", 0, 30))
	var n atomic.Int32
	failSecond := pipeline.ConsumerFunc(func(_ context.Context, b pipeline.Batch) error {
		if n.Add(1) == 2 {
			b.Ack(errors.New("kafka said no"))
		} else {
			b.Ack(nil)
		}
		return nil
	})
	r := start(t, cfg, failSecond)
	waitFor(t, "3 batches", func() bool { return n.Load() == 3 })
	waitFor(t, "lag of the unacknowledged lines", func() bool {
		return r.counter(t, "flowship_filetail_checkpoint_lag_bytes", attribute.String("path", live)) == 20*9
	})
	if got := r.counter(t, "flowship_filetail_lines_read_total"); got != 30 {
		t.Fatalf("lines read = %d, want 30", got)
	}
	r.stop(t)
	if doc := readPositions(t, cfg.PositionsFile); doc.Files[0].Offset != 10*9 {
		t.Fatalf("offset = %d, want %d (end of the first batch)", doc.Files[0].Offset, 10*9)
	}
	if got := r.counter(t, "flowship_filetail_ack_errors_total"); got != 1 {
		t.Fatalf("ack errors = %d, want 1", got)
	}
	s2 := &pipelinetest.Sink{}
	start(t, cfg, s2)
	waitFor(t, "replay", func() bool { return len(s2.Records()) == 20 })
	wantLines(t, s2.Records(), numbered("x", 10, 30))
}

// TestBackpressureBoundsBatchesInFlight runs in a synctest bubble: once
// every goroutine of the tailer is blocked (synctest.Wait), and again
// after many poll intervals of the bubble's clock, exactly
// MaxInflightBatches batches have been handed on.
func TestBackpressureBoundsBatchesInFlight(t *testing.T) {
	synctest.Test(t, testBackpressureBoundsBatchesInFlight)
}

func testBackpressureBoundsBatchesInFlight(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	cfg := testConfig(dir)
	cfg.BatchLines = 10
	cfg.MaxInflightBatches = 3
	appendFile(t, live, numbered("x", 0, 1000))
	sink := &pipelinetest.Sink{Hold: true}
	start(t, cfg, sink)
	synctest.Wait()
	if got := sink.Batches(); got != 3 {
		t.Fatalf("batches in flight once the tailer blocked = %d, want 3", got)
	}
	time.Sleep(100 * cfg.PollInterval)
	synctest.Wait()
	if got := sink.Batches(); got != 3 {
		t.Fatalf("batches in flight after 100 poll intervals = %d, want 3", got)
	}
	if acked := sink.AckAll(nil); acked != 3 {
		t.Fatalf("held acks = %d", acked)
	}
	for len(sink.Records()) < 1000 {
		waitFor(t, "more batches", func() bool { return sink.AckAll(nil) > 0 || len(sink.Records()) == 1000 })
	}
	wantLines(t, sink.Records(), numbered("x", 0, 1000))
}

func TestBlockingConsumerStopsReading(t *testing.T) {
	dir := t.TempDir()
	appendFile(t, filepath.Join(dir, "flows.log"), numbered("x", 0, 100))
	cfg := testConfig(dir)
	cfg.BatchLines = 10
	entered := make(chan struct{}, 1)
	var calls atomic.Int32
	blocking := pipeline.ConsumerFunc(func(ctx context.Context, b pipeline.Batch) error {
		calls.Add(1)
		entered <- struct{}{}
		<-ctx.Done() // never accepts
		return ctx.Err()
	})
	r := start(t, cfg, blocking)
	<-entered
	r.stop(t)
	if got := calls.Load(); got != 1 {
		t.Fatalf("Consume called %d times while it blocked, want 1", got)
	}
	if doc := readPositions(t, cfg.PositionsFile); doc.Files[0].Offset != 0 {
		t.Fatalf("offset = %d after a refused batch, want 0", doc.Files[0].Offset)
	}
}

func TestStartAtEnd(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	appendFile(t, live, numbered("old", 0, 10))
	cfg := testConfig(dir)
	cfg.StartAt = StartEnd
	sink := &pipelinetest.Sink{}
	start(t, cfg, sink)
	waitFor(t, "positions written", func() bool { _, err := os.Stat(cfg.PositionsFile); return err == nil })
	appendFile(t, live, numbered("new", 0, 3))
	waitFor(t, "new lines", func() bool { return len(sink.Records()) == 3 })
	wantLines(t, sink.Records(), numbered("new", 0, 3))
}

// TestLongLinesGoToTheDeadLetterLog: a skipped over-long line is written
// to the dead-letter log with the file, offset, line number, reason and a
// sample of its first bytes, not only counted.
func TestLongLinesGoToTheDeadLetterLog(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	cfg := testConfig(dir)
	cfg.MaxLineSize = 100
	long := "{\"start_time\":" + strings.Repeat("L", 200*1024) // spans several reads
	appendFile(t, live, "before\n"+long+"\nafter\n")
	dlPath := filepath.Join(dir, "dead-letter.jsonl")
	dl, err := pipeline.OpenDeadLetterLog(dlPath)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	sink := &pipelinetest.Sink{}
	r := startWith(t, cfg, sink, func(tl *Tailer) { tl.SetDeadLetter(dl) })
	waitFor(t, "lines", func() bool { return len(sink.Records()) == 2 })
	r.stop(t)
	b, err := os.ReadFile(dlPath)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Kind      string `json:"kind"`
		File      string `json:"file"`
		Line      int64  `json:"line"`
		Offset    int64  `json:"offset"`
		Reason    string `json:"reason"`
		Error     string `json:"error"`
		Bytes     int64  `json:"bytes"`
		Raw       string `json:"raw"`
		Truncated bool   `json:"truncated"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("dead-letter log %q: %v", b, err)
	}
	if e.Kind != "flows" || e.File != live || e.Line != 2 || e.Offset != 7 || e.Reason != reasonTooLong ||
		e.Bytes != int64(len(long)) || !e.Truncated || e.Raw != long[:pipeline.DeadLetterSample] || !strings.Contains(e.Error, "max_line_size") {
		t.Fatalf("dead-letter entry = %+v (raw %d bytes)", e, len(e.Raw))
	}
}

// TestCheckpointStaysBoundedAfterAFailedBatch: after one batch fails, the
// tailer reads on (the rest is replayed on restart); the positions
// checkpoint holds at most max_inflight_batches entries however much is
// read, and the gauge shows it. In a synctest bubble, so a loaded
// machine only makes it slower: synctest.Wait returns once the tailer
// idles at the end of the file.
func TestCheckpointStaysBoundedAfterAFailedBatch(t *testing.T) {
	synctest.Test(t, testCheckpointStaysBoundedAfterAFailedBatch)
}

func testCheckpointStaysBoundedAfterAFailedBatch(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "flows.log")
	cfg := testConfig(dir)
	cfg.BatchLines, cfg.MaxInflightBatches = 1, 4
	appendFile(t, live, numbered("x", 0, 300))
	var n atomic.Int32
	failSecond := pipeline.ConsumerFunc(func(_ context.Context, b pipeline.Batch) error {
		if n.Add(1) == 2 {
			b.Ack(errors.New("kafka said no"))
		} else {
			b.Ack(nil)
		}
		return nil
	})
	r := start(t, cfg, failSecond)
	synctest.Wait()
	time.Sleep(cfg.Linger + cfg.PollInterval) // the last batch lingers
	synctest.Wait()
	if got := n.Load(); got != 300 {
		t.Fatalf("%d batches handed on once the tailer idled, want 300", got)
	}
	if got := r.counter(t, "flowship_filetail_checkpoint_pending_batches"); got > int64(cfg.MaxInflightBatches) {
		t.Fatalf("checkpoint holds %d batches, want at most max_inflight_batches (%d)", got, cfg.MaxInflightBatches)
	}
	r.stop(t)
	if doc := readPositions(t, cfg.PositionsFile); doc.Files[0].Offset != 9 {
		t.Fatalf("offset = %d, want 9 (end of the first batch)", doc.Files[0].Offset)
	}
}
