package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

const testIndex = "flowship-flows-prod-eu-2025.06.10"

func TestItem429RetriesOnlyThoseItems(t *testing.T) {
	f := newFakeES(t)
	f.item = func(call int, it bulkItem) (int, string, string) {
		if call == 1 && (it.ID == "d-1" || it.ID == "d-3") {
			return 429, "es_rejected_execution_exception", "rejected execution of coordinating operation"
		}
		return 0, "", ""
	}
	dlq := &pipelinetest.Sink{}
	h := startSink(t, testConfig(f.srv.URL), dlq)
	a := consume(t, h.sink, docs("d", 5))
	if err := a.wait(t); err != nil {
		t.Fatalf("ack = %v, want nil", err)
	}
	for i, want := range []int{1, 2, 1, 2, 1} {
		id := "d-" + string(rune('0'+i))
		if got := f.attemptsOf(id); got != want {
			t.Errorf("%s sent %d times, want %d", id, got, want)
		}
		if _, ok := f.has(testIndex, id); !ok {
			t.Errorf("%s not indexed", id)
		}
	}
	if n := len(dlq.Records()); n != 0 {
		t.Errorf("%d records dead-lettered, want 0", n)
	}
	if !containsAll(h.logs.String(), "retrying only those", "es_rejected_execution_exception") {
		t.Errorf("no log about the item-level 429:\n%s", h.logs)
	}
}

func TestConflictCountsAsDone(t *testing.T) {
	f := newFakeES(t)
	f.docs[testIndex+"/d-0"] = `{"original":true}`
	dlq := &pipelinetest.Sink{}
	h := startSink(t, testConfig(f.srv.URL), dlq)
	a := consume(t, h.sink, docs("d", 2))
	if err := a.wait(t); err != nil {
		t.Fatalf("ack = %v, want nil", err)
	}
	if d, _ := f.has(testIndex, "d-0"); d != `{"original":true}` {
		t.Errorf("existing document replaced by %s", d)
	}
	if f.attemptsOf("d-0") != 1 || len(dlq.Records()) != 0 {
		t.Errorf("409 was retried (%d attempts) or dead-lettered (%d)", f.attemptsOf("d-0"), len(dlq.Records()))
	}
	if _, ok := f.has(testIndex, "d-1"); !ok {
		t.Error("d-1 not indexed")
	}
}

func TestMappingErrorGoesToDeadLetter(t *testing.T) {
	const reason = "[1:24] failed to parse field [bytes_in] of type [long] in document with id 'd-2'. Preview of field's value: 'abc'"
	tests := []struct {
		name    string
		dlq     *pipelinetest.Sink
		release func(*pipelinetest.Sink) // nil: the DLQ acks at once
		wantErr bool
	}{
		{"dlq acks", &pipelinetest.Sink{}, nil, false},
		{"batch waits for the dlq ack", &pipelinetest.Sink{Hold: true}, func(s *pipelinetest.Sink) { s.AckAll(nil) }, false},
		{"dlq ack error fails the batch", &pipelinetest.Sink{AckErr: errors.New("topic gone")}, nil, true},
		{"dlq refuses the batch", &pipelinetest.Sink{Err: errors.New("closed")}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeES(t)
			f.item = func(_ int, it bulkItem) (int, string, string) {
				if it.ID == "d-2" {
					return 400, "document_parsing_exception", reason
				}
				return 0, "", ""
			}
			cfg := testConfig(f.srv.URL)
			cfg.Workers = 1 // a later batch is taken only after this group's settle returned
			h := startSink(t, cfg, tc.dlq)
			recs := docs("d", 4)
			a := consume(t, h.sink, recs)
			if tc.release != nil {
				waitFor(t, func() bool { return tc.dlq.Batches() == 1 })
				// Once the only worker acked a later batch, it is done with
				// this one: an ack not waiting for the dead-letter consumer
				// would have happened by now.
				if err := consume(t, h.sink, docs("later", 1)).wait(t); err != nil {
					t.Fatalf("later batch: %v", err)
				}
				if a.count() != 0 {
					t.Fatal("batch acked before the dead-letter consumer acked")
				}
				tc.release(tc.dlq)
			}
			err := a.wait(t)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ack = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.dlq.Err != nil {
				return
			}
			got := tc.dlq.Records()
			if len(got) != 1 {
				t.Fatalf("%d dead letters, want 1", len(got))
			}
			checkDeadLetter(t, got[0], recs[2], RejectedDocument{Index: testIndex, Status: 400,
				ErrorType: "document_parsing_exception", Reason: reason})
			if f.attemptsOf("d-2") != 1 {
				t.Errorf("rejected document sent %d times", f.attemptsOf("d-2"))
			}
		})
	}
}

// checkDeadLetter compares a dead-letter record with the original and the
// expected envelope fields.
func checkDeadLetter(t *testing.T, got, orig pipeline.Record, want RejectedDocument) {
	t.Helper()
	if got.Kind != orig.Kind || got.ID != orig.ID || string(got.Key) != string(orig.Key) || !got.Time.Equal(orig.Time) {
		t.Errorf("dead letter %+v lost fields of %+v", got, orig)
	}
	var env RejectedDocument
	if err := json.Unmarshal(got.Value, &env); err != nil {
		t.Fatalf("envelope %s: %v", got.Value, err)
	}
	if string(env.Document) != string(orig.Value) {
		t.Errorf("envelope document = %s, want %s", env.Document, orig.Value)
	}
	if env.Index != want.Index || env.Status != want.Status || env.ErrorType != want.ErrorType || env.Reason != want.Reason {
		t.Errorf("envelope = %+v, want %+v", env, want)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestMixedItemResults(t *testing.T) {
	f := newFakeES(t)
	f.docs[testIndex+"/d-1"] = "{}"
	f.item = func(call int, it bulkItem) (int, string, string) {
		switch {
		case it.ID == "d-2" && call == 1:
			return 503, "unavailable_shards_exception", "primary shard is not active"
		case it.ID == "d-3":
			return 400, "illegal_argument_exception", "mapper [x] cannot be changed"
		case it.ID == "d-4" && call == 1:
			return 404, "index_not_found_exception", "no such index"
		}
		return 0, "", ""
	}
	dlq := &pipelinetest.Sink{}
	h := startSink(t, testConfig(f.srv.URL), dlq)
	recs := docs("d", 5)
	a := consume(t, h.sink, recs)
	if err := a.wait(t); err != nil {
		t.Fatalf("ack = %v", err)
	}
	want := map[string]int{"d-0": 1, "d-1": 1, "d-2": 2, "d-3": 1, "d-4": 2}
	for id, n := range want {
		if got := f.attemptsOf(id); got != n {
			t.Errorf("%s sent %d times, want %d", id, got, n)
		}
	}
	if dl := dlq.Records(); len(dl) != 1 || dl[0].ID != "d-3" {
		t.Errorf("dead letters = %v, want d-3", dl)
	}
}

func TestInvalidRecordsDeadLetterWithoutRequest(t *testing.T) {
	f := newFakeES(t)
	dlq := &pipelinetest.Sink{}
	h := startSink(t, testConfig(f.srv.URL), dlq)
	recs := docs("d", 2)
	recs[1].ID = ""
	recs[1].Value = []byte("not json")
	a := consume(t, h.sink, recs)
	if err := a.wait(t); err != nil {
		t.Fatalf("ack = %v", err)
	}
	dl := dlq.Records()
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	var env RejectedDocument
	if err := json.Unmarshal(dl[0].Value, &env); err != nil {
		t.Fatal(err)
	}
	if env.ErrorType != "flowship_invalid_record" || env.DocumentText != "not json" || env.Document != nil || env.Index != testIndex {
		t.Errorf("envelope = %+v", env)
	}
	if f.attemptsOf("") != 0 || f.docCount() != 1 {
		t.Errorf("invalid record was sent (%d) or valid one lost (%d docs)", f.attemptsOf(""), f.docCount())
	}
}

func TestRequestLimits(t *testing.T) {
	f := newFakeES(t)
	cfg := testConfig(f.srv.URL)
	cfg.BulkActions = 7
	cfg.BulkBytes = 2048
	h := startSink(t, cfg, &pipelinetest.Sink{})
	recs := docs("d", 100)
	a := consume(t, h.sink, recs)
	if err := a.wait(t); err != nil {
		t.Fatalf("ack = %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, n := range f.sizes {
		if n > 7 || f.bodies[i] > 2048 {
			t.Errorf("request %d: %d items, %d bytes; limits 7 and 2048", i, n, f.bodies[i])
		}
	}
	if len(f.docs) != 100 {
		t.Errorf("%d docs, want 100", len(f.docs))
	}
	if f.gzipped != 0 {
		t.Errorf("%d of %d requests gzipped; compress defaults to false", f.gzipped, len(f.sizes))
	}
}

// With compress on, every request is gzipped (by the worker, at the
// fastest level) and the server gets every document intact; the limits
// still apply to the uncompressed body.
func TestCompressGzipsEveryRequest(t *testing.T) {
	f := newFakeES(t)
	cfg := testConfig(f.srv.URL)
	cfg.Compress = true
	cfg.BulkActions = 7
	h := startSink(t, cfg, &pipelinetest.Sink{})
	recs := docs("d", 50)
	a := consume(t, h.sink, recs)
	if err := a.wait(t); err != nil {
		t.Fatalf("ack = %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gzipped == 0 || f.gzipped != len(f.sizes) {
		t.Errorf("%d of %d requests gzipped, want all", f.gzipped, len(f.sizes))
	}
	for i, n := range f.sizes {
		if n > 7 {
			t.Errorf("request %d: %d items, limit 7", i, n)
		}
	}
	if len(f.docs) != 50 {
		t.Errorf("%d docs, want 50", len(f.docs))
	}
	got := map[string]bool{}
	for _, d := range f.docs {
		got[d] = true
	}
	for _, r := range recs {
		if !got[string(r.Value)] {
			t.Errorf("document %s of %s not indexed as sent", r.Value, r.ID)
		}
	}
}

func TestEveryBatchAckedOnceAfterAllItsDocuments(t *testing.T) {
	f := newFakeES(t)
	f.item = func(call int, it bulkItem) (int, string, string) {
		if call%3 == 1 && len(it.ID)%2 == 0 {
			return 429, "es_rejected_execution_exception", "busy"
		}
		return 0, "", ""
	}
	cfg := testConfig(f.srv.URL)
	cfg.BulkActions = 50
	cfg.FlushInterval = 5 * time.Millisecond
	cfg.Workers = 3
	h := startSink(t, cfg, &pipelinetest.Sink{})
	type sent struct {
		recs []pipeline.Record
		ack  *ackRecorder
	}
	var all []sent
	for b := range 40 {
		recs := docs("b"+strings.Repeat("x", b%3)+string(rune('a'+b%26))+string(rune('a'+b/26)), 1+b%17)
		s := sent{recs: recs, ack: newAck()}
		// The ack checks, when it fires, that every document of its batch is in.
		a := s.ack
		check := func(err error) {
			for _, r := range recs {
				if _, ok := f.has(testIndex, r.ID); !ok && err == nil {
					t.Errorf("batch acked before %s was indexed", r.ID)
				}
			}
			a.ack(err)
		}
		if err := h.sink.Consume(context.Background(), pipeline.Batch{Records: recs, Ack: check}); err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	for _, s := range all {
		if err := s.ack.wait(t); err != nil {
			t.Fatalf("ack = %v", err)
		}
	}
	h.stop()
	for i, s := range all {
		if n := s.ack.count(); n != 1 {
			t.Errorf("batch %d acked %d times", i, n)
		}
	}
}

func TestBackpressureBlocksConsume(t *testing.T) {
	f := newFakeES(t)
	f.block = make(chan struct{})
	cfg := testConfig(f.srv.URL)
	cfg.Workers, cfg.QueueSize, cfg.BulkActions = 1, 2, 1
	h := startSink(t, cfg, &pipelinetest.Sink{})
	// One batch in the worker, two in the queue: the fourth must block.
	var acks []*ackRecorder
	for i := range 3 {
		acks = append(acks, consume(t, h.sink, docs("q"+string(rune('a'+i)), 1)))
	}
	waitFor(t, func() bool { return len(h.sink.queue) == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	blocked := newAck()
	err := h.sink.Consume(ctx, pipeline.Batch{Records: docs("qd", 1), Ack: blocked.ack})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Consume on a full sink = %v, want DeadlineExceeded", err)
	}
	close(f.block)
	for _, a := range acks {
		if err := a.wait(t); err != nil {
			t.Fatal(err)
		}
	}
	if blocked.count() != 0 {
		t.Error("the ack of a batch Consume refused was called")
	}
}

func TestShutdownAcksUnsettledWithError(t *testing.T) {
	f := newFakeES(t)
	f.whole = func(int, []bulkItem) (int, string) { return 503, `{"error":{"type":"x","reason":"down"}}` }
	cfg := testConfig(f.srv.URL)
	cfg.Workers, cfg.QueueSize = 1, 4
	h := startSink(t, cfg, &pipelinetest.Sink{})
	inWorker := consume(t, h.sink, docs("a", 3))
	waitFor(t, func() bool { return f.callCount() >= 2 })
	queued := consume(t, h.sink, docs("b", 2))
	h.stop()
	for name, a := range map[string]*ackRecorder{"in worker": inWorker, "queued": queued} {
		err := a.wait(t)
		if err == nil || !strings.Contains(err.Error(), "will be replayed") {
			t.Errorf("%s: ack = %v, want a replay error", name, err)
		}
		if a.count() != 1 {
			t.Errorf("%s: acked %d times", name, a.count())
		}
	}
	late := newAck()
	if err := h.sink.Consume(context.Background(), pipeline.Batch{Records: docs("c", 1), Ack: late.ack}); !errors.Is(err, ErrStopped) {
		t.Errorf("Consume after Run = %v, want ErrStopped", err)
	}
	if late.count() != 0 {
		t.Error("ack of a refused batch was called")
	}
}

// TestSurvivesElasticsearchDown stops the server, lets the sink retry
// against a closed port, then starts a server on the same address.
func TestSurvivesElasticsearchDown(t *testing.T) {
	f := newFakeES(t)
	addr := f.srv.Listener.Addr().String()
	f.srv.Close()
	h := startSink(t, testConfig("http://"+addr), &pipelinetest.Sink{})
	a := consume(t, h.sink, docs("d", 10))
	// The sink has tried, failed and logged it; an ack can only follow a
	// success.
	waitFor(t, func() bool {
		return strings.Contains(h.logs.String(), "retrying with backoff until Elasticsearch answers")
	})
	if a.count() != 0 {
		t.Fatalf("batch acked while Elasticsearch was down: %v", a.err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	if err := a.wait(t); err != nil {
		t.Fatalf("ack = %v", err)
	}
	if f.docCount() != 10 {
		t.Errorf("%d documents after recovery, want 10", f.docCount())
	}
	if !containsAll(h.logs.String(), "retrying with backoff until Elasticsearch answers", "connection refused") {
		t.Errorf("no clear log about the outage:\n%s", h.logs)
	}
}
