package kafka

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go/compress"
	kafkazstd "github.com/segmentio/kafka-go/compress/zstd"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/flowship/flowship/pipeline"
)

// storedBatches fetches partition 0 of topic as the broker stores it and
// returns, per record batch, its compression codec (attributes & 7) and
// its size in bytes: what a producer's compression level changes, seen
// from outside the producer.
func storedBatches(t *testing.T, brokers []string, topic string) (codecs []int, sizes []int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.MaxVersions(kversion.V3_0_0()))
	if err != nil {
		t.Fatalf("kgo: %v", err)
	}
	defer cl.Close()
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MaxBytes = -1, 100, 64<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = 0, 0, 64<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("fetch %s: %v", topic, err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch %s: unexpected response shape %+v", topic, resp)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("fetch %s: error code %d", topic, p.ErrorCode)
	}
	b := p.RecordBatches
	for len(b) >= 61 { // record batch v2 header: base offset 8, length 4, ..., attributes at 21
		size := 12 + int(binary.BigEndian.Uint32(b[8:12]))
		if size > len(b) {
			break // a partial batch at the end of the fetch
		}
		codecs = append(codecs, int(binary.BigEndian.Uint16(b[21:23])&7))
		sizes = append(sizes, size)
		b = b[size:]
	}
	return codecs, sizes
}

// writeValues writes values as flow documents to cfg's flows topic in one
// batch and waits for its ack.
func writeValues(t *testing.T, w *Writer, values [][]byte) {
	t.Helper()
	recs := make([]pipeline.Record, len(values))
	for i, v := range values {
		recs[i] = doc(pipeline.KindFlow, string(v[:32]), i, string(v))
	}
	acks := newAckLog()
	if err := w.Consume(context.Background(), acks.batch(0, recs)); err != nil {
		t.Fatal(err)
	}
	acks.wait(t, 1, 60*time.Second)
	if got := acks.get(0); len(got) != 1 || got[0] != nil {
		t.Fatalf("acks = %v, want one nil", got)
	}
}

// checkTwoLevels builds two writers with zstd fastest and best in one
// process, each to its own flows topic, lets both produce the same
// values, and checks that each one's batch is stored compressed at its
// own level (best smaller than fastest) and reads back intact. kafka-go's
// process-wide codec table must stay kafka-go's own.
func checkTwoLevels(t *testing.T, brokers []string, topics [2]Topics) {
	t.Helper()
	values := flowValues(t, 500)
	var ws [2]*Writer
	for i, level := range []string{LevelFastest, LevelBest} {
		cfg := testConfig(t, brokers)
		cfg.Topics = topics[i]
		cfg.Compression, cfg.CompressionLevel = "zstd", level
		cfg.Linger = 200 * time.Millisecond // one produce batch for the 500 records
		w, err := NewWriter(cfg, pipeline.NopTelemetry())
		if err != nil {
			t.Fatal(err)
		}
		ws[i] = w
	}
	if _, ok := compress.Codecs[compress.Zstd].(*kafkazstd.Codec); !ok {
		t.Errorf("kafka-go's zstd codec was replaced by %T: writers must not change process-wide state", compress.Codecs[compress.Zstd])
	}
	var size [2]int
	for i, w := range ws {
		stop := sync.OnceFunc(runWriter(t, w))
		t.Cleanup(stop) // also when writeValues fails the test
		writeValues(t, w, values)
		stop()
		codecs, sizes := storedBatches(t, brokers, topics[i].Flows)
		for j, c := range codecs {
			if c != int(compress.Zstd) {
				t.Errorf("%s batch %d stored with codec %d, want zstd (4)", topics[i].Flows, j, c)
			}
			size[i] += sizes[j]
		}
		got := readAll(t, brokers, len(values), 10*time.Second, topics[i].Flows)
		if len(got) != len(values) {
			t.Fatalf("%s: read %d records back, want %d", topics[i].Flows, len(got), len(values))
		}
		for j, r := range got {
			if string(r.Value) != string(values[j]) {
				t.Fatalf("%s offset %d: value differs from the one written", topics[i].Flows, j)
			}
		}
	}
	t.Logf("500 flow documents stored in %d bytes at zstd fastest, %d at best", size[0], size[1])
	if size[1] >= size[0] {
		t.Errorf("zstd best stored %d bytes, fastest %d: each writer must compress at its own level", size[1], size[0])
	}
}

func TestWritersWithDifferentCompressionLevelsInOneProcess(t *testing.T) {
	tps := [2]Topics{DefaultTopics(), DefaultTopics()}
	tps[1].Flows = "best.flows"
	c := newCluster(t, 1, kfake.SeedTopics(1, tps[1].Flows))
	checkTwoLevels(t, c.ListenAddrs(), tps)
}
