package kafka

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/flowship/flowship/pipeline"
)

// newCluster starts an in-process Kafka with the three kind topics of
// partitions partitions each.
func newCluster(t *testing.T, partitions int32, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, DefaultTopics().Kinds()...)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// testConfig is a writer config with short timings for brokers.
func testConfig(t *testing.T, brokers []string) Config {
	cfg := DefaultConfig()
	cfg.Brokers = brokers
	cfg.Linger = 5 * time.Millisecond
	cfg.Retry = RetryConfig{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.DeadLetterLog = filepath.Join(t.TempDir(), "dead-letter.jsonl")
	cfg.FlushTimeout = 0
	cfg.WriteTimeout = 2 * time.Second
	cfg.DialTimeout = time.Second
	cfg.MaxAttempts = 2
	return cfg
}

// doc returns a document record.
func doc(kind pipeline.Kind, key string, seq int, value string) pipeline.Record {
	return pipeline.Record{
		Kind:  kind,
		Key:   []byte(key),
		ID:    fmt.Sprintf("%s-%s-%d", kind, key, seq),
		Time:  time.Date(2025, 3, 1, 10, 15, 0, seq, time.UTC),
		Value: []byte(value),
		Node:  "node-1",
	}
}

// ackLog records every ack call of every batch it made.
type ackLog struct {
	mu    sync.Mutex
	calls map[int][]error
	done  chan struct{} // receives one value per ack call
}

func newAckLog() *ackLog { return &ackLog{calls: map[int][]error{}, done: make(chan struct{}, 10000)} }

func (a *ackLog) batch(id int, recs []pipeline.Record) pipeline.Batch {
	return pipeline.Batch{Records: recs, Ack: func(err error) {
		a.mu.Lock()
		a.calls[id] = append(a.calls[id], err)
		a.mu.Unlock()
		a.done <- struct{}{}
	}}
}

// wait waits for n ack calls in total.
func (a *ackLog) wait(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for i := 0; i < n; i++ {
		select {
		case <-a.done:
		case <-deadline:
			t.Fatalf("only %d of %d acks within %s", i, n, within)
		}
	}
}

func (a *ackLog) get(id int) []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]error(nil), a.calls[id]...)
}

func (a *ackLog) total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.calls {
		n += len(c)
	}
	return n
}

// readAll reads every message of topics from the start until want
// messages arrived or within passed.
func readAll(t *testing.T, brokers []string, want int, within time.Duration, topics ...string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("kgo: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// toKafkaGo converts a franz-go record for FromMessage.
func toKafkaGo(r *kgo.Record) kafkago.Message {
	m := kafkago.Message{Topic: r.Topic, Partition: int(r.Partition), Offset: r.Offset, Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		m.Headers = append(m.Headers, kafkago.Header{Key: h.Key, Value: h.Value})
	}
	return m
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// logBuffer is a concurrency-safe slog sink for assertions on log text.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func telemetryTo(w *logBuffer) pipeline.Telemetry {
	tel := pipeline.NopTelemetry()
	tel.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return tel
}

// runWriter starts w.Run and returns a stop function that cancels it and
// waits for it to return.
func runWriter(t *testing.T, w *Writer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return within 20s of cancel")
		}
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

// checkLeaks verifies, after every other cleanup (such as closing the
// cluster), that the test left no goroutines behind.
func checkLeaks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}
