//go:build integration

package testenv_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// TestKafkaProduceConsumeGroup proves that kafka-go works against the broker services.sh runs
// (Kafka 4.1 and 3.9): topic creation, an acks=all batch write, a consumer-group read with
// explicit commits, and that the committed offsets are exactly the partitions' ends.
func TestKafkaProduceConsumeGroup(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	t.Logf("Kafka %q at %v", testenv.KafkaVersion(), brokers)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	const partitions, keys, perKey = 3, 12, 25
	topic := testenv.UniqueName(t, "it")
	group := testenv.UniqueName(t, "grp")
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second}
	createTopic(ctx, t, client, topic, partitions)

	// Messages of one key carry increasing sequence numbers; the hash balancer sends each key to
	// one partition, so order per key must survive end to end.
	w := &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    50,
		BatchTimeout: 10 * time.Millisecond,
		Compression:  kafka.Zstd,
	}
	var msgs []kafka.Message
	for seq := 0; seq < perKey; seq++ {
		for k := 0; k < keys; k++ {
			msgs = append(msgs, kafka.Message{
				Key:     []byte(fmt.Sprintf("key-%02d", k)),
				Value:   []byte(fmt.Sprintf("key-%02d/%03d", k, seq)),
				Headers: []kafka.Header{{Key: "kind", Value: []byte("flow")}},
			})
		}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("WriteMessages(%d) to %s: %v", len(msgs), topic, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Writer.Close: %v", err)
	}

	got := consumeGroup(ctx, t, brokers, topic, group, len(msgs))
	assertPerKeyOrder(t, got, keys, perKey)
	assertCommittedAtEnd(ctx, t, client, topic, group, partitions)
}

func createTopic(ctx context.Context, t *testing.T, c *kafka.Client, topic string, partitions int) {
	t.Helper()
	resp, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: 1,
	}}})
	if err != nil {
		t.Fatalf("CreateTopics %s: %v", topic, err)
	}
	if err := resp.Errors[topic]; err != nil {
		t.Fatalf("CreateTopics %s: %v", topic, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}}); err != nil {
			t.Logf("cleanup: DeleteTopics %s: %v", topic, err)
		}
	})
}

// consumeGroup reads n messages as member of group, committing each one after it is read.
func consumeGroup(ctx context.Context, t *testing.T, brokers []string, topic, group string, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:          brokers,
		Topic:            topic,
		GroupID:          group,
		StartOffset:      kafka.FirstOffset,
		MaxWait:          200 * time.Millisecond,
		CommitInterval:   0, // synchronous CommitMessages
		SessionTimeout:   10 * time.Second,
		RebalanceTimeout: 10 * time.Second,
	})
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("Reader.Close: %v", err)
		}
	}()
	var got []kafka.Message
	for len(got) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("FetchMessage after %d of %d messages: %v", len(got), n, err)
		}
		if string(m.Headers[0].Value) != "flow" {
			t.Errorf("message %s/%d/%d: header kind = %q, want flow", m.Topic, m.Partition, m.Offset, m.Headers[0].Value)
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatalf("CommitMessages: %v", err)
		}
		got = append(got, m)
	}
	return got
}

func assertPerKeyOrder(t *testing.T, got []kafka.Message, keys, perKey int) {
	t.Helper()
	next := map[string]int{}      // key -> next expected sequence
	partOf := map[string]int{}    // key -> partition seen
	lastOffset := map[int]int64{} // partition -> last offset
	for _, m := range got {
		k := string(m.Key)
		if want := fmt.Sprintf("%s/%03d", k, next[k]); string(m.Value) != want {
			t.Fatalf("partition %d offset %d: value %q, want %q (order per key broken or duplicate)", m.Partition, m.Offset, m.Value, want)
		}
		next[k]++
		if p, ok := partOf[k]; ok && p != m.Partition {
			t.Errorf("key %s seen on partitions %d and %d", k, p, m.Partition)
		}
		partOf[k] = m.Partition
		if last, ok := lastOffset[m.Partition]; ok && m.Offset <= last {
			t.Errorf("partition %d: offset %d after %d", m.Partition, m.Offset, last)
		}
		lastOffset[m.Partition] = m.Offset
	}
	if len(next) != keys {
		t.Errorf("got %d distinct keys, want %d", len(next), keys)
	}
	for k, n := range next {
		if n != perKey {
			t.Errorf("key %s: %d messages, want %d", k, n, perKey)
		}
	}
	if len(lastOffset) < 2 {
		t.Errorf("all messages on %d partition(s): the hash balancer did not spread %d keys", len(lastOffset), keys)
	}
}

// assertCommittedAtEnd checks that the group's committed offset of every partition equals the
// partition's end offset: nothing left to read, nothing committed past the end.
func assertCommittedAtEnd(ctx context.Context, t *testing.T, c *kafka.Client, topic, group string, partitions int) {
	t.Helper()
	var parts []int
	var reqs []kafka.OffsetRequest
	for p := 0; p < partitions; p++ {
		parts = append(parts, p)
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	ends, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		t.Fatalf("ListOffsets: %v", err)
	}
	committed, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil || committed.Error != nil {
		t.Fatalf("OffsetFetch: %v", errors.Join(err, committed.Error))
	}
	commit := map[int]int64{}
	for _, p := range committed.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("OffsetFetch partition %d: %v", p.Partition, p.Error)
		}
		commit[p.Partition] = p.CommittedOffset
	}
	for _, e := range ends.Topics[topic] {
		if e.Error != nil {
			t.Fatalf("ListOffsets partition %d: %v", e.Partition, e.Error)
		}
		if e.LastOffset > 0 && commit[e.Partition] != e.LastOffset {
			t.Errorf("partition %d: committed %d, end offset %d", e.Partition, commit[e.Partition], e.LastOffset)
		}
	}
}
