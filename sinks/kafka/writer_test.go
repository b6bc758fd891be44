package kafka

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
)

func TestWriterAcksEachBatchOnceAfterKafka(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t, 3)
	w, err := NewWriter(testConfig(t, c.ListenAddrs()), pipeline.NopTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	stop := runWriter(t, w)
	acks := newAckLog()
	const batches, per = 12, 40
	want := map[string]bool{}
	for b := range batches {
		recs := make([]pipeline.Record, per)
		for i := range recs {
			kind := pipeline.Kinds[(b+i)%3]
			recs[i] = doc(kind, fmt.Sprintf("k%d", i%7), b*per+i, fmt.Sprintf(`{"n":%d}`, b*per+i))
			want[recs[i].ID] = true
		}
		if err := w.Consume(context.Background(), acks.batch(b, recs)); err != nil {
			t.Fatalf("Consume: %v", err)
		}
	}
	acks.wait(t, batches, 10*time.Second)
	stop()
	for b := range batches {
		if got := acks.get(b); len(got) != 1 || got[0] != nil {
			t.Errorf("batch %d acks = %v, want exactly one nil", b, got)
		}
	}
	got := readAll(t, c.ListenAddrs(), len(want), 30*time.Second, DefaultTopics().Kinds()...)
	if len(got) != len(want) {
		t.Fatalf("read %d messages, want %d", len(got), len(want))
	}
	for _, r := range got {
		rec, err := FromMessage(toKafkaGo(r))
		if err != nil {
			t.Fatalf("FromMessage: %v", err)
		}
		if !want[rec.ID] {
			t.Errorf("unexpected or duplicate id %q", rec.ID)
		}
		delete(want, rec.ID)
		if r.Topic != DefaultTopics().For(rec.Kind) {
			t.Errorf("id %s of kind %s on topic %s", rec.ID, rec.Kind, r.Topic)
		}
	}
}

func TestWriterKeepsOrderPerKey(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t, 4)
	cfg := testConfig(t, c.ListenAddrs())
	cfg.BatchSize = 7 // many small produce batches per partition
	w, err := NewWriter(cfg, pipeline.NopTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	stop := runWriter(t, w)
	acks := newAckLog()
	const keys, batches, per = 9, 30, 25
	seq := 0
	for b := range batches {
		recs := make([]pipeline.Record, per)
		for i := range recs {
			recs[i] = doc(pipeline.KindFlow, fmt.Sprintf("key-%d", (b+i)%keys), seq, strconv.Itoa(seq))
			seq++
		}
		if err := w.Consume(context.Background(), acks.batch(b, recs)); err != nil {
			t.Fatal(err)
		}
	}
	acks.wait(t, batches, 10*time.Second)
	stop()
	got := readAll(t, c.ListenAddrs(), seq, 30*time.Second, DefaultTopicFlows)
	if len(got) != seq {
		t.Fatalf("read %d, want %d", len(got), seq)
	}
	last := map[string]int{}
	partOf := map[string]int32{}
	for _, r := range got {
		k := string(r.Key)
		n, _ := strconv.Atoi(string(r.Value))
		if p, seen := partOf[k]; seen && p != r.Partition {
			t.Fatalf("key %s in partitions %d and %d", k, p, r.Partition)
		}
		partOf[k] = r.Partition
		if prev, seen := last[k]; seen && n <= prev {
			t.Fatalf("key %s: %d after %d", k, n, prev)
		}
		last[k] = n
	}
}

func TestWriterBackpressureAndUnreachableBrokers(t *testing.T) {
	checkLeaks(t)
	var logs logBuffer
	addr := closedAddr(t)
	cfg := testConfig(t, []string{addr})
	cfg.MaxInflightBatches = 2
	w, err := NewWriter(cfg, telemetryTo(&logs))
	if err != nil {
		t.Fatal(err)
	}
	w.health.every = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	acks := newAckLog()
	for b := range 2 {
		if err := w.Consume(context.Background(), acks.batch(b, []pipeline.Record{doc(pipeline.KindDNS, "k", b, "{}")})); err != nil {
			t.Fatal(err)
		}
	}
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = w.Consume(short, acks.batch(2, []pipeline.Record{doc(pipeline.KindDNS, "k", 2, "{}")}))
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third Consume with 2 in flight = %v, want it to block until its ctx ends", err)
	}
	want := "kafka: brokers " + addr + " unreachable for"
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in logs:\n%s", want, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := acks.total(); n != 0 {
		t.Fatalf("%d acks while the brokers are unreachable, want 0 (nothing dropped)", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for b := range 2 {
		if got := acks.get(b); len(got) != 1 || !errors.Is(got[0], ErrWriterStopped) {
			t.Errorf("batch %d acks = %v, want one ErrWriterStopped", b, got)
		}
	}
	if got := acks.get(2); len(got) != 0 {
		t.Errorf("refused batch was acked: %v", got)
	}
	if err := w.Consume(context.Background(), acks.batch(3, []pipeline.Record{doc(pipeline.KindDNS, "k", 3, "{}")})); !errors.Is(err, ErrWriterStopped) {
		t.Errorf("Consume after Run = %v, want ErrWriterStopped", err)
	}
	if err := w.Close(); err != nil {
		t.Error(err)
	}
}

func TestWriterDeadLettersOversizeAndDeliversTheRest(t *testing.T) {
	tests := []struct {
		name       string
		maxMsg     pipeline.ByteSize // client-side limit
		topicLimit string            // topic max.message.bytes; "" keeps the default
	}{
		{"over max_message_bytes", 4 << 10, ""},
		{"over the topic limit", 64 << 10, "3000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			c := newCluster(t, 2)
			if tc.topicLimit != "" {
				if err := c.CreateTopic("limited", 2, map[string]string{"max.message.bytes": tc.topicLimit}); err != nil {
					t.Fatal(err)
				}
			}
			cfg := testConfig(t, c.ListenAddrs())
			cfg.MaxMessageBytes, cfg.BatchBytes = tc.maxMsg, tc.maxMsg
			cfg.Compression = "none"
			if tc.topicLimit != "" {
				cfg.Topics.Flows = "limited"
			}
			w, err := NewWriter(cfg, pipeline.NopTelemetry())
			if err != nil {
				t.Fatal(err)
			}
			stop := runWriter(t, w)
			recs := make([]pipeline.Record, 30)
			for i := range recs {
				recs[i] = doc(pipeline.KindFlow, fmt.Sprintf("k%d", i), i, fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", 150)))
			}
			big := doc(pipeline.KindFlow, "big", 99, `{"pad":"`+strings.Repeat("y", 8<<10)+`"}`)
			recs[17] = big
			acks := newAckLog()
			if err := w.Consume(context.Background(), acks.batch(0, recs)); err != nil {
				t.Fatal(err)
			}
			acks.wait(t, 1, 10*time.Second)
			stop()
			if got := acks.get(0); len(got) != 1 || got[0] != nil {
				t.Fatalf("acks = %v, want one nil", got)
			}
			got := readAll(t, c.ListenAddrs(), 29, 30*time.Second, cfg.Topics.Flows)
			if len(got) != 29 {
				t.Fatalf("read %d messages, want the 29 that fit", len(got))
			}
			for _, r := range got {
				if string(r.Key) == "big" {
					t.Fatal("the oversize message reached the topic")
				}
			}
			lines := readDeadLetters(t, cfg.DeadLetterLog)
			if len(lines) != 1 {
				t.Fatalf("dead-letter log has %d lines, want 1", len(lines))
			}
			if lines[0].Headers[HeaderID] != big.ID || lines[0].Reason == "" || lines[0].Topic != cfg.Topics.Flows {
				t.Errorf("dead-letter entry = %+v", lines[0])
			}
		})
	}
}

type deadLetterLine struct {
	Reason  string            `json:"reason"`
	Topic   string            `json:"topic"`
	Headers map[string]string `json:"headers"`
	Value   json.RawMessage   `json:"value"`
}

func readDeadLetters(t *testing.T, path string) []deadLetterLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("dead-letter log: %v", err)
	}
	defer f.Close()
	var out []deadLetterLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l deadLetterLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("dead-letter line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func TestWriterEmptyBatchAckedAtOnce(t *testing.T) {
	w, err := NewWriter(testConfig(t, []string{"127.0.0.1:1"}), pipeline.NopTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	calls := 0
	if err := w.Consume(context.Background(), pipeline.Batch{Ack: func(err error) {
		if err != nil {
			t.Errorf("ack err %v", err)
		}
		calls++
	}}); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("ack calls = %d, want 1", calls)
	}
}

func TestWriterCompressionLevelsRoundTrip(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t, 2)
	n := 0
	for _, codec := range []string{"zstd", "gzip", "lz4"} {
		for _, level := range []string{LevelFastest, LevelDefault, LevelBetter, LevelBest} {
			t.Run(codec+"/"+level, func(t *testing.T) {
				cfg := testConfig(t, c.ListenAddrs())
				cfg.Compression, cfg.CompressionLevel = codec, level
				w, err := NewWriter(cfg, pipeline.NopTelemetry())
				if err != nil {
					t.Fatal(err)
				}
				stop := runWriter(t, w)
				acks := newAckLog()
				want := map[string]string{}
				recs := make([]pipeline.Record, 50)
				for i := range recs {
					n++
					v := fmt.Sprintf(`{"source_namespace":"shop","dest_name_aggr":"cart-api-*","bytes_in":%d}`, n)
					recs[i] = doc(pipeline.KindFlow, fmt.Sprintf("k%d", i%5), n, v)
					want[recs[i].ID] = v
				}
				if err := w.Consume(context.Background(), acks.batch(0, recs)); err != nil {
					t.Fatal(err)
				}
				acks.wait(t, 1, 10*time.Second)
				stop()
				if got := acks.get(0); len(got) != 1 || got[0] != nil {
					t.Fatalf("acks = %v, want one nil", got)
				}
				for _, r := range readAll(t, c.ListenAddrs(), n, 30*time.Second, DefaultTopicFlows) {
					rec, err := FromMessage(toKafkaGo(r))
					if err != nil {
						t.Fatal(err)
					}
					if v, ok := want[rec.ID]; ok {
						if string(rec.Value) != v {
							t.Errorf("%s: value %s, want %s", rec.ID, rec.Value, v)
						}
						delete(want, rec.ID)
					}
				}
				if len(want) != 0 {
					t.Errorf("%d of 50 records not read back", len(want))
				}
			})
		}
	}
}
