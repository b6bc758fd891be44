package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/sinks/kafka"
)

// benchKafka talks to the benchmark's Kafka: topics, counts and dumps.
type benchKafka struct {
	brokers []string
	client  *kafkago.Client
}

func newBenchKafka(brokers []string) *benchKafka {
	return &benchKafka{brokers: brokers, client: &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 30 * time.Second}}
}

// createTopics creates the topics with flowship's default topic layout
// (6 partitions) and replication 1, so every agent writes to the same shape.
func (k *benchKafka) createTopics(ctx context.Context, topics kafka.Topics) error {
	conn := kafka.DefaultConfig().Connection
	conn.Brokers = k.brokers
	specs := kafka.DefaultTopicSpecs(topics)
	for i := range specs {
		specs[i].ReplicationFactor = 1
	}
	_, _, err := kafka.EnsureTopics(ctx, conn, specs)
	return err
}

// deleteTopics removes a run's topics to give the disk back.
func (k *benchKafka) deleteTopics(ctx context.Context, topics ...string) error {
	res, err := k.client.DeleteTopics(ctx, &kafkago.DeleteTopicsRequest{Topics: topics})
	if err != nil {
		return err
	}
	for t, e := range res.Errors {
		if e != nil && !errors.Is(e, kafkago.UnknownTopicOrPartition) {
			return fmt.Errorf("deleting topic %s: %w", t, e)
		}
	}
	return nil
}

// count returns the records in the topics: the sum of every partition's
// end offset (the topics are new, so they start at 0, and nobody writes
// transactions to them).
func (k *benchKafka) count(ctx context.Context, topics ...string) (int64, error) {
	ends, err := k.endOffsets(ctx, topics...)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, parts := range ends {
		for _, off := range parts {
			n += off
		}
	}
	return n, nil
}

func (k *benchKafka) endOffsets(ctx context.Context, topics ...string) (map[string]map[int]int64, error) {
	meta, err := k.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, err
	}
	req := map[string][]kafkago.OffsetRequest{}
	for _, t := range meta.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			req[t.Name] = append(req[t.Name], kafkago.LastOffsetOf(p.ID))
		}
	}
	res, err := k.client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: req})
	if err != nil {
		return nil, err
	}
	out := map[string]map[int]int64{}
	for t, parts := range res.Topics {
		out[t] = map[int]int64{}
		for _, p := range parts {
			if p.Error != nil {
				return nil, fmt.Errorf("topic %s partition %d: %w", t, p.Partition, p.Error)
			}
			out[t][p.Partition] = p.LastOffset
		}
	}
	return out, nil
}

// dumpBulk reads every record of the topics (written by flowship collect)
// and writes them as an Elasticsearch bulk body — create action, document
// — with the index names the indexer would use, so the plain loader posts
// exactly the documents flowship index posts.
func (k *benchKafka) dumpBulk(ctx context.Context, topics []string, naming esink.Naming, path string) (int64, error) {
	ends, err := k.endOffsets(ctx, topics...)
	if err != nil {
		return 0, err
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	for topic, parts := range ends {
		for part, end := range parts {
			if end == 0 {
				continue
			}
			m, err := k.dumpPartition(ctx, topic, part, end, naming, w)
			n += m
			if err != nil {
				return n, err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return n, err
	}
	return n, f.Close()
}

func (k *benchKafka) dumpPartition(ctx context.Context, topic string, part int, end int64, naming esink.Naming, w *bufio.Writer) (int64, error) {
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: k.brokers, Topic: topic, Partition: part, MaxBytes: 10 << 20,
		MaxWait: 250 * time.Millisecond, Dialer: &kafkago.Dialer{Timeout: 10 * time.Second, DualStack: true, Resolver: &net.Resolver{}}})
	defer r.Close()
	var n int64
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return n, fmt.Errorf("reading %s/%d: %w", topic, part, err)
		}
		rec, err := kafka.FromMessage(m)
		if err != nil {
			return n, err
		}
		w.Write(appendBulkCreate(nil, naming, &rec))
		n++
		if m.Offset+1 >= end {
			return n, nil
		}
	}
}

// appendBulkCreate appends one create action and the document as
// flowship index sends it: a flow document with its "policy_hits" (the
// index-time enrichment the UI's Policy Board reads), so that
// Elasticsearch does the same work for both indexers.
func appendBulkCreate(dst []byte, naming esink.Naming, r *pipeline.Record) []byte {
	dst = fmt.Appendf(dst, `{"create":{"_index":%q,"_id":%q}}`+"\n", naming.Index(r.Kind, r.Time), r.ID)
	if r.Kind == pipeline.KindFlow {
		dst = schema.AppendWithPolicyHits(dst, r.Value)
	} else {
		dst = append(dst, r.Value...)
	}
	return append(dst, '\n')
}
