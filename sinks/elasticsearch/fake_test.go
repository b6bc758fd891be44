package elasticsearch

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// bulkItem is one create action the fake received.
type bulkItem struct {
	Index, ID, Doc string
}

// fakeES is a minimal Elasticsearch _bulk endpoint with create semantics
// (409 for an existing _id) and hooks to inject failures.
type fakeES struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	calls    int
	docs     map[string]string // index + "/" + _id → document
	attempts map[string]int    // _id → times received
	sizes    []int             // items per request
	bodies   []int             // uncompressed body bytes per request
	gzipped  int               // requests with a gzip body
	// whole, when set, may fail the whole request: it returns a status
	// (0 = handle items) and a body.
	whole func(call int, items []bulkItem) (int, string)
	// item, when set, may fail one item: status 0 = handle normally.
	item func(call int, it bulkItem) (status int, errType, reason string)
	// block, when set, is waited on before answering.
	block chan struct{}
}

func newFakeES(t testing.TB) *fakeES {
	f := &fakeES{t: t, docs: map[string]string{}, attempts: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeES) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/_bulk" {
		http.Error(w, `{"error":{"type":"unexpected","reason":"not a bulk request"}}`, 400)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return // client went away
	}
	items, err := parseItems(raw)
	if err != nil {
		f.t.Errorf("fake ES: malformed bulk body: %v", err)
		http.Error(w, `{"error":{"type":"parse_exception","reason":"malformed"},"status":400}`, 400)
		return
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-r.Context().Done():
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.sizes = append(f.sizes, len(items))
	f.bodies = append(f.bodies, len(raw))
	if r.Header.Get("Content-Encoding") == "gzip" {
		f.gzipped++
	}
	for _, it := range items {
		f.attempts[it.ID]++
	}
	if f.whole != nil {
		if st, b := f.whole(f.calls, items); st != 0 {
			w.WriteHeader(st)
			io.WriteString(w, b)
			return
		}
	}
	w.Write(f.reply(items))
}

// reply applies items with create semantics and builds the bulk response.
func (f *fakeES) reply(items []bulkItem) []byte {
	var out bytes.Buffer
	out.WriteString(`{"errors":false,"items":[`)
	for i, it := range items {
		if i > 0 {
			out.WriteByte(',')
		}
		status, typ, reason := 0, "", ""
		if f.item != nil {
			status, typ, reason = f.item(f.calls, it)
		}
		key := it.Index + "/" + it.ID
		if status == 0 {
			if _, dup := f.docs[key]; dup {
				status, typ, reason = 409, "version_conflict_engine_exception", "["+it.ID+"]: version conflict, document already exists"
			} else {
				f.docs[key] = it.Doc
				status = 201
			}
		}
		if typ == "" {
			fmt.Fprintf(&out, `{"create":{"status":%d}}`, status)
			continue
		}
		e, _ := json.Marshal(map[string]string{"type": typ, "reason": reason})
		fmt.Fprintf(&out, `{"create":{"status":%d,"error":%s}}`, status, e)
	}
	out.WriteString("]}")
	return out.Bytes()
}

func parseItems(raw []byte) ([]bulkItem, error) {
	var items []bulkItem
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var a action
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil || a.Create == nil {
			return nil, fmt.Errorf("action line %q: %v", sc.Text(), err)
		}
		if !sc.Scan() {
			return nil, fmt.Errorf("action for %s without a document", a.Create.ID)
		}
		items = append(items, bulkItem{Index: a.Create.Index, ID: a.Create.ID, Doc: sc.Text()})
	}
	return items, sc.Err()
}

func (f *fakeES) docCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.docs)
}

func (f *fakeES) has(index, id string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.docs[index+"/"+id]
	return d, ok
}

func (f *fakeES) attemptsOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[id]
}

func (f *fakeES) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// testConfig is a config for fast tests against url.
func testConfig(url string) Config {
	c := DefaultConfig()
	c.URLs = []string{url}
	c.Naming = flowshipNaming
	c.FlushInterval = 0
	c.Retry = RetryConfig{Initial: time.Millisecond, Max: 5 * time.Millisecond}
	c.RequestTimeout = 5 * time.Second
	return c
}

// syncBuffer is a goroutine-safe log destination.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness runs a Sink until the test ends.
type harness struct {
	sink   *Sink
	dlq    pipeline.Consumer
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startSink(t *testing.T, cfg Config, dlq pipeline.Consumer) *harness {
	t.Helper()
	return startSinkTel(t, cfg, pipeline.NopTelemetry(), &syncBuffer{}, dlq)
}

// startSinkTel is startSink with the caller's telemetry, logging to logs.
func startSinkTel(t *testing.T, cfg Config, tel pipeline.Telemetry, logs *syncBuffer, dlq pipeline.Consumer) *harness {
	t.Helper()
	tel.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s, err := New(cfg, tel, dlq)
	if err != nil {
		t.Fatal(err)
	}
	s.warn = newWarnings(0) // log every failure in tests
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{sink: s, dlq: dlq, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- s.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

// stop cancels Run and waits for it.
func (h *harness) stop() {
	h.cancel()
	if h.done != nil {
		<-h.done
		h.done = nil
	}
}

// ackRecorder records the calls of one batch's Ack.
type ackRecorder struct {
	mu    sync.Mutex
	calls int
	err   error
	ch    chan struct{}
}

func newAck() *ackRecorder { return &ackRecorder{ch: make(chan struct{})} }

func (a *ackRecorder) ack(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	a.err = err
	if a.calls == 1 {
		close(a.ch)
	}
}

// wait waits for the first call and returns its error.
func (a *ackRecorder) wait(t testing.TB) error {
	t.Helper()
	select {
	case <-a.ch:
	case <-time.After(10 * time.Second):
		t.Fatal("ack not called within 10s")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *ackRecorder) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// docs makes n flow records with ids prefix-0..n-1.
func docs(prefix string, n int) []pipeline.Record {
	out := make([]pipeline.Record, n)
	for i := range out {
		out[i] = rec(fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf(`{"n":%d,"p":%q}`, i, prefix))
	}
	return out
}

func consume(t testing.TB, s *Sink, recs []pipeline.Record) *ackRecorder {
	t.Helper()
	a := newAck()
	if err := s.Consume(context.Background(), pipeline.Batch{Records: recs, Ack: a.ack}); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	return a
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
