package kafka

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/flowship/flowship/pipeline"
)

// heldSink keeps every batch and its ack for the test to settle.
type heldSink struct {
	mu      sync.Mutex
	batches []pipeline.Batch
	got     chan struct{}
}

func newHeldSink() *heldSink { return &heldSink{got: make(chan struct{}, 1000)} }

func (s *heldSink) Consume(_ context.Context, b pipeline.Batch) error {
	s.mu.Lock()
	s.batches = append(s.batches, b)
	s.mu.Unlock()
	s.got <- struct{}{}
	return nil
}

// waitBatches waits until n batches arrived in total.
func (s *heldSink) waitBatches(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		s.mu.Lock()
		have := len(s.batches)
		s.mu.Unlock()
		if have >= n {
			return
		}
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("%d of %d batches arrived", have, n)
		}
	}
}

// ackOffset acks, with err, the batch holding the record at offset.
func (s *heldSink) ackOffset(t *testing.T, offset int64, err error) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.batches {
		for _, r := range b.Records {
			if r.Offset == offset {
				b.Ack(err)
				return
			}
		}
	}
	t.Fatalf("no batch holds offset %d", offset)
}

// ackAll acks every batch received so far; call it once.
func (s *heldSink) ackAll(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.batches {
		b.Ack(err)
	}
}

func (s *heldSink) offsets() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, b := range s.batches {
		for _, r := range b.Records {
			out = append(out, r.Offset)
		}
	}
	return out
}

// produce writes recs (or raw messages) to topic partition 0 in order.
func produce(t *testing.T, brokers []string, msgs ...kafkago.Message) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, m := range msgs {
		r := &kgo.Record{Topic: m.Topic, Partition: int32(m.Partition), Key: m.Key, Value: m.Value}
		for _, h := range m.Headers {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
}

func flowMessages(n, from int) []kafkago.Message {
	out := make([]kafkago.Message, n)
	for i := range out {
		out[i] = ToMessage(doc(pipeline.KindFlow, "k", from+i, fmt.Sprintf(`{"n":%d}`, from+i)), DefaultTopicFlows)
	}
	return out
}

// committed returns the group's committed offset of flowship.flows/0, -1 if none.
func committed(t *testing.T, brokers []string, group string) int64 {
	t.Helper()
	return committedOf(t, brokers, group, DefaultTopicFlows)
}

// committedOf returns the group's committed offset of topic/0, -1 if none.
func committedOf(t *testing.T, brokers []string, group, topic string) int64 {
	t.Helper()
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	cl := &kafkago.Client{Addr: kafkago.TCP(brokers...), Transport: tr, Timeout: 5 * time.Second}
	res, err := cl.OffsetFetch(context.Background(), &kafkago.OffsetFetchRequest{
		GroupID: group, Topics: map[string][]int{topic: {0}}})
	if err != nil {
		t.Fatalf("OffsetFetch: %v", err)
	}
	for _, p := range res.Topics[topic] {
		if p.Partition == 0 {
			return p.CommittedOffset
		}
	}
	return -1
}

// waitCommitted waits until the committed offset of flowship.flows/0 equals want.
func waitCommitted(t *testing.T, brokers []string, group string, want int64) {
	t.Helper()
	waitCommittedOf(t, brokers, group, DefaultTopicFlows, want)
}

// waitCommittedOf waits until the committed offset of topic/0 equals want.
func waitCommittedOf(t *testing.T, brokers []string, group, topic string, want int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := committedOf(t, brokers, group, topic)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed offset = %d, want %d", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// commitPasses counts a Reader's commit passes (its afterCommit hook).
type commitPasses struct {
	mu sync.Mutex
	n  int
	ch chan struct{}
}

func newCommitPasses() *commitPasses { return &commitPasses{ch: make(chan struct{}, 1)} }

func (c *commitPasses) hook() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

func (c *commitPasses) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// holdsCommitted waits until the reader ran two more commit passes (so at
// least one began after everything the caller did before) and checks that
// the committed offset is still want.
func holdsCommitted(t *testing.T, brokers []string, group string, want int64, passes *commitPasses) {
	t.Helper()
	target := passes.count() + 2
	deadline := time.After(20 * time.Second)
	for passes.count() < target {
		select {
		case <-passes.ch:
		case <-deadline:
			t.Fatalf("the reader ran no commit pass within 20s")
		}
	}
	if got := committed(t, brokers, group); got != want {
		t.Fatalf("committed offset moved to %d, want it held at %d", got, want)
	}
}

func testReaderConfig(brokers []string, group string) ReaderConfig {
	cfg := DefaultReaderConfig()
	cfg.Brokers = brokers
	cfg.GroupID = group
	cfg.Topics = []string{DefaultTopicFlows}
	cfg.BatchSize = 1
	cfg.Linger = 5 * time.Millisecond
	cfg.CommitInterval = 20 * time.Millisecond
	cfg.DrainTimeout = 100 * time.Millisecond
	cfg.MaxWait = 100 * time.Millisecond
	cfg.DialTimeout = 2 * time.Second
	return cfg
}

func startReader(t *testing.T, cfg ReaderConfig, next pipeline.Consumer) (stop func()) {
	t.Helper()
	return startReaderPasses(t, cfg, next, nil)
}

// startReaderPasses is startReader counting the reader's commit passes
// in passes (when not nil).
func startReaderPasses(t *testing.T, cfg ReaderConfig, next pipeline.Consumer, passes *commitPasses) (stop func()) {
	t.Helper()
	r, err := NewReader(cfg, pipeline.NopTelemetry(), next)
	if err != nil {
		t.Fatal(err)
	}
	if passes != nil {
		r.afterCommit = passes.hook
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Reader.Run did not return within 20s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestReaderCommitsOnlyContiguousSettledOffsets(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	produce(t, brokers, flowMessages(8, 0)...)
	cfg := testReaderConfig(brokers, "contiguous")
	sink := newHeldSink()
	passes := newCommitPasses()
	stop := startReaderPasses(t, cfg, sink, passes)
	sink.waitBatches(t, 8)

	for _, off := range []int64{0, 1, 2, 5, 6} {
		sink.ackOffset(t, off, nil)
	}
	waitCommitted(t, brokers, cfg.GroupID, 3)
	sink.ackOffset(t, 4, nil)
	holdsCommitted(t, brokers, cfg.GroupID, 3, passes) // offset 3 is unsettled
	sink.ackOffset(t, 3, nil)
	waitCommitted(t, brokers, cfg.GroupID, 7)
	stop() // offset 7 is still unacked: the final commit keeps 7
	if got := committed(t, brokers, cfg.GroupID); got != 7 {
		t.Fatalf("after shutdown committed = %d, want 7", got)
	}
	// After shutdown: Run has returned and its goroutines are gone, so
	// nothing is left that could commit this ack; one look suffices.
	sink.ackOffset(t, 7, nil)
	if got := committed(t, brokers, cfg.GroupID); got != 7 {
		t.Fatalf("an ack after shutdown moved the committed offset to %d, want 7", got)
	}

	again := newHeldSink()
	startReader(t, cfg, again)
	again.waitBatches(t, 1)
	if got := again.offsets(); got[0] != 7 {
		t.Fatalf("restarted reader began at offset %d, want 7 (the first unsettled)", got[0])
	}
}

func TestReaderSkipsMessagesThatBreakTheContract(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	good := flowMessages(2, 0)
	bad := kafkago.Message{Topic: DefaultTopicFlows, Key: []byte("k"), Value: []byte(`{}`)}
	produce(t, brokers, good[0], bad, good[1])
	cfg := testReaderConfig(brokers, "bad-messages")
	cfg.BatchSize = 10
	sink := newHeldSink()
	startReader(t, cfg, sink)
	deadline := time.Now().Add(10 * time.Second)
	for len(sink.offsets()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := sink.offsets(); len(got) != 2 || got[0] != 0 || got[1] != 2 {
		t.Fatalf("records at offsets %v, want [0 2] (1 breaks the contract)", got)
	}
	sink.ackAll(nil)
	waitCommitted(t, brokers, cfg.GroupID, 3)
}

func TestReaderAckAfterRebalanceIsNotCommitted(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t, 1)
	brokers := c.ListenAddrs()
	produce(t, brokers, flowMessages(3, 0)...)
	cfg := testReaderConfig(brokers, "rebalance")
	first := newHeldSink()
	passes := newCommitPasses()
	startReaderPasses(t, cfg, first, passes)
	first.waitBatches(t, 3)
	first.ackOffset(t, 0, nil)
	waitCommitted(t, brokers, cfg.GroupID, 1)

	// A second member joins: the first generation ends with 1 and 2 unsettled.
	second := newHeldSink()
	startReader(t, cfg, second)
	deadline := time.Now().Add(20 * time.Second)
	for len(first.offsets())+len(second.offsets()) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("offsets 1 and 2 were not read again after the rebalance: first %v, second %v",
				first.offsets(), second.offsets())
		}
		time.Sleep(20 * time.Millisecond)
	}
	first.ackOffset(t, 1, nil) // acks of the ended generation
	first.ackOffset(t, 2, nil)
	holdsCommitted(t, brokers, cfg.GroupID, 1, passes) // passes of the first reader's new generation
}

func TestReaderRejectsBadConfigAndNilNext(t *testing.T) {
	cfg := testReaderConfig([]string{"127.0.0.1:9092"}, "g")
	if _, err := NewReader(cfg, pipeline.NopTelemetry(), nil); err == nil {
		t.Error("NewReader with nil next: no error")
	}
	cfg.GroupID = ""
	if _, err := NewReader(cfg, pipeline.NopTelemetry(), newHeldSink()); err == nil {
		t.Error("NewReader with empty group_id: no error")
	}
}
