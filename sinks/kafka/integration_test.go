//go:build integration

package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// These tests run against the real broker from deploy/local/services.sh;
// `make test` runs them (-run Kafka) against each supported Kafka version.

// uniqueTopics creates fresh kind and dead-letter topics for t.
func uniqueTopics(t *testing.T, brokers []string, partitions int, maxMessage pipeline.ByteSize) Topics {
	t.Helper()
	tp := Topics{
		Flows: testenv.UniqueName(t, "flows"), L7: testenv.UniqueName(t, "l7"),
		DNS: testenv.UniqueName(t, "dns"), DeadLetter: testenv.UniqueName(t, "dlq"),
	}
	specs := DefaultTopicSpecs(tp)
	for i := range specs {
		specs[i].Partitions = partitions
		if maxMessage > 0 {
			specs[i].MaxMessageBytes = maxMessage
		}
	}
	conn := defaultConnection()
	conn.Brokers = brokers
	if _, _, err := EnsureTopics(context.Background(), conn, specs); err != nil {
		t.Fatalf("creating topics: %v", err)
	}
	return tp
}

// writeAll writes recs in batches of per through a fresh Writer and waits
// until every batch is acked with nil.
func writeAll(t *testing.T, cfg Config, recs []pipeline.Record, per int) {
	t.Helper()
	w, err := NewWriter(cfg, pipeline.NopTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	stop := runWriter(t, w)
	defer stop()
	acks := newAckLog()
	n := 0
	for i := 0; i < len(recs); i += per {
		if err := w.Consume(context.Background(), acks.batch(n, recs[i:min(i+per, len(recs))])); err != nil {
			t.Fatal(err)
		}
		n++
	}
	acks.wait(t, n, 60*time.Second)
	for b := range n {
		if got := acks.get(b); len(got) != 1 || got[0] != nil {
			t.Fatalf("batch %d acks = %v, want one nil", b, got)
		}
	}
}

// collector is a consumer that acks at once and keeps the records.
type collector struct {
	mu   sync.Mutex
	recs []pipeline.Record
}

func (c *collector) Consume(_ context.Context, b pipeline.Batch) error {
	c.mu.Lock()
	for _, r := range b.Records {
		r.Key, r.Value = slices.Clone(r.Key), slices.Clone(r.Value)
		c.recs = append(c.recs, r)
	}
	c.mu.Unlock()
	b.Ack(nil)
	return nil
}

func (c *collector) waitFor(t *testing.T, n int) []pipeline.Record {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c.mu.Lock()
		got := slices.Clone(c.recs)
		c.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func integrationReaderConfig(brokers []string, group string, topics ...string) ReaderConfig {
	cfg := testReaderConfig(brokers, group)
	cfg.Topics = topics
	cfg.DialTimeout = 10 * time.Second
	return cfg
}

func TestKafkaWriterReaderRoundTrip(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	t.Logf("Kafka %s at %v", testenv.KafkaVersion(), brokers)
	tp := uniqueTopics(t, brokers, 3, 0)
	cfg := testConfig(t, brokers)
	cfg.Topics = tp
	var recs []pipeline.Record
	for i := range 600 {
		recs = append(recs, doc(pipeline.Kinds[i%3], fmt.Sprintf("key-%d", i%17), i, fmt.Sprintf(`{"n":%d}`, i)))
	}
	writeAll(t, cfg, recs, 50)

	col := &collector{}
	rcfg := integrationReaderConfig(brokers, testenv.UniqueName(t, "group"), tp.Kinds()...)
	rcfg.BatchSize = 100
	startReader(t, rcfg, col)
	got := col.waitFor(t, len(recs))
	if len(got) != len(recs) {
		t.Fatalf("read %d records, want %d", len(got), len(recs))
	}
	want := map[string]pipeline.Record{}
	for _, r := range recs {
		want[r.ID] = r
	}
	for _, r := range got {
		w, ok := want[r.ID]
		if !ok {
			t.Fatalf("unexpected or duplicate id %q", r.ID)
		}
		delete(want, r.ID)
		if r.Kind != w.Kind || string(r.Value) != string(w.Value) || string(r.Key) != string(w.Key) ||
			!r.Time.Equal(w.Time) || r.Node != w.Node || !strings.HasPrefix(r.Source, tp.For(w.Kind)+"/") {
			t.Errorf("record %s = %+v, want %+v", r.ID, r, w)
		}
	}
}

func TestKafkaReaderCommitsOnlyContiguousAcksAcrossRestart(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	tp := uniqueTopics(t, brokers, 1, 0)
	cfg := testConfig(t, brokers)
	cfg.Topics = tp
	var recs []pipeline.Record
	for i := range 6 {
		recs = append(recs, doc(pipeline.KindFlow, "k", i, fmt.Sprintf(`{"n":%d}`, i)))
	}
	writeAll(t, cfg, recs, 6)

	group := testenv.UniqueName(t, "group")
	rcfg := integrationReaderConfig(brokers, group, tp.Flows)
	sink := newHeldSink()
	stop := startReader(t, rcfg, sink)
	sink.waitBatches(t, 6)
	for _, off := range []int64{0, 1, 3, 4} {
		sink.ackOffset(t, off, nil)
	}
	waitCommittedOf(t, brokers, group, tp.Flows, 2)
	stop()
	if got := committedOf(t, brokers, group, tp.Flows); got != 2 {
		t.Fatalf("committed after shutdown = %d, want 2 (offset 2 never settled)", got)
	}
	again := newHeldSink()
	startReader(t, rcfg, again)
	again.waitBatches(t, 4)
	if got := again.offsets(); !slices.Equal(got[:4], []int64{2, 3, 4, 5}) {
		t.Fatalf("restarted reader read offsets %v, want 2 3 4 5", got)
	}
}

func TestKafkaEnsureTopicsIdempotent(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	conn := defaultConnection()
	conn.Brokers = brokers
	name := testenv.UniqueName(t, "setup")
	specs := []TopicSpec{{Name: name, Partitions: 2, ReplicationFactor: -1, Retention: time.Hour,
		CompressionType: "producer", MaxMessageBytes: 2 << 20}}
	ctx := context.Background()
	created, unchanged, err := EnsureTopics(ctx, conn, specs)
	if err != nil || !slices.Equal(created, []string{name}) || len(unchanged) != 0 {
		t.Fatalf("first: created %v unchanged %v err %v", created, unchanged, err)
	}
	created, unchanged, err = EnsureTopics(ctx, conn, specs)
	if err != nil || len(created) != 0 || !slices.Equal(unchanged, []string{name}) {
		t.Fatalf("second: created %v unchanged %v err %v", created, unchanged, err)
	}
	specs[0].Retention = 2 * time.Hour
	_, _, err = EnsureTopics(ctx, conn, specs)
	var drift *TopicDriftError
	if !errors.As(err, &drift) || len(drift.Diffs) != 1 || drift.Diffs[0].Setting != "retention.ms" ||
		drift.Diffs[0].Have != "3600000" {
		t.Fatalf("drift: err = %v, want one retention.ms difference (have 3600000)", err)
	}
}

func TestKafkaOversizeDeadLetteredAtBrokerLimit(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	tp := uniqueTopics(t, brokers, 1, 4096)
	cfg := testConfig(t, brokers)
	cfg.Topics = tp
	cfg.Compression = "none"
	cfg.MaxMessageBytes, cfg.BatchBytes = 64<<10, 64<<10
	var recs []pipeline.Record
	for i := range 20 {
		recs = append(recs, doc(pipeline.KindDNS, fmt.Sprintf("k%d", i), i, fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("p", 300))))
	}
	big := doc(pipeline.KindDNS, "big", 99, `{"pad":"`+strings.Repeat("b", 10<<10)+`"}`)
	recs = slices.Insert(recs, 7, big)
	writeAll(t, cfg, recs, len(recs))

	lines := readDeadLetters(t, cfg.DeadLetterLog)
	if len(lines) != 1 || lines[0].Headers[HeaderID] != big.ID || !strings.Contains(lines[0].Reason, "too large") {
		t.Fatalf("dead-letter log = %+v, want exactly the big record, refused as too large", lines)
	}
	col := &collector{}
	startReader(t, integrationReaderConfig(brokers, testenv.UniqueName(t, "group"), tp.DNS), col)
	got := col.waitFor(t, 20)
	if len(got) != 20 {
		t.Fatalf("read %d records, want the 20 that fit", len(got))
	}
	for _, r := range got {
		if r.ID == big.ID {
			t.Fatal("the oversize record reached the topic")
		}
	}
}

func TestKafkaCompressionCodecsRoundTrip(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			tp := uniqueTopics(t, brokers, 1, 0)
			cfg := testConfig(t, brokers)
			cfg.Topics = tp
			cfg.Compression = codec
			var recs []pipeline.Record
			for i := range 200 {
				recs = append(recs, doc(pipeline.KindL7, fmt.Sprintf("k%d", i%5), i,
					fmt.Sprintf(`{"n":%d,"url":"/api/v1/items/%d","method":"GET"}`, i, i)))
			}
			writeAll(t, cfg, recs, 100)
			col := &collector{}
			rcfg := integrationReaderConfig(brokers, testenv.UniqueName(t, "group"), tp.L7)
			rcfg.BatchSize = 100
			startReader(t, rcfg, col)
			got := col.waitFor(t, len(recs))
			if len(got) != len(recs) {
				t.Fatalf("read %d, want %d", len(got), len(recs))
			}
			for i, r := range got { // one partition: production order
				if r.ID != recs[i].ID || string(r.Value) != string(recs[i].Value) {
					t.Fatalf("record %d = %s %s, want %s %s", i, r.ID, r.Value, recs[i].ID, recs[i].Value)
				}
			}
		})
	}
}
