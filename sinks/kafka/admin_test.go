package kafka

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/flowship/flowship/pipeline"
)

func TestEnsureTopicsIsIdempotentAndReportsDrift(t *testing.T) {
	checkLeaks(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn := defaultConnection()
	conn.Brokers = c.ListenAddrs()
	specs := DefaultTopicSpecs(DefaultTopics())
	ctx := context.Background()

	created, unchanged, err := EnsureTopics(ctx, conn, specs)
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	want := []string{DefaultTopicFlows, DefaultTopicL7, DefaultTopicDNS, DefaultTopicDeadLetter}
	if !slices.Equal(created, want) || len(unchanged) != 0 {
		t.Fatalf("first run created %v unchanged %v, want created %v", created, unchanged, want)
	}
	if p := c.PartitionInfos(DefaultTopicFlows); len(p) != 6 {
		t.Errorf("%s has %d partitions, want 6", DefaultTopicFlows, len(p))
	}

	created, unchanged, err = EnsureTopics(ctx, conn, specs)
	if err != nil || len(created) != 0 || !slices.Equal(unchanged, want) {
		t.Fatalf("second run: created %v unchanged %v err %v; want all unchanged, no error", created, unchanged, err)
	}

	drifted := slices.Clone(specs)
	drifted[1].Retention = 7 * 24 * time.Hour
	drifted[2].Partitions = 12
	_, unchanged, err = EnsureTopics(ctx, conn, drifted)
	var drift *TopicDriftError
	if !errors.As(err, &drift) {
		t.Fatalf("err = %v, want a *TopicDriftError", err)
	}
	if !slices.Equal(unchanged, want) {
		t.Errorf("unchanged = %v", unchanged)
	}
	got := map[string]TopicDiff{}
	for _, d := range drift.Diffs {
		got[d.Topic+" "+d.Setting] = d
	}
	if d := got[DefaultTopicL7+" retention.ms"]; d.Want != "604800000" || d.Have != "259200000" {
		t.Errorf("retention diff = %+v (all: %v)", d, drift.Diffs)
	}
	if d := got[DefaultTopicDNS+" partitions"]; d.Want != "12" || d.Have != "6" {
		t.Errorf("partitions diff = %+v (all: %v)", d, drift.Diffs)
	}
	if len(drift.Diffs) != 2 {
		t.Errorf("diffs = %v, want exactly 2", drift.Diffs)
	}
	if p := c.PartitionInfos(DefaultTopicDNS); len(p) != 6 {
		t.Errorf("drift altered %s to %d partitions", DefaultTopicDNS, len(p))
	}
}

func TestEnsureTopicsRejectsBadSpecs(t *testing.T) {
	conn := defaultConnection()
	conn.Brokers = []string{"127.0.0.1:1"}
	tests := []struct {
		name string
		spec TopicSpec
		want string
	}{
		{"bad name", TopicSpec{Name: "a b", Partitions: 1, ReplicationFactor: 1}, "name"},
		{"zero partitions", TopicSpec{Name: "a", ReplicationFactor: 1}, "partitions"},
		{"zero replication", TopicSpec{Name: "a", Partitions: 1}, "replication"},
		{"negative max message", TopicSpec{Name: "a", Partitions: 1, ReplicationFactor: 1, MaxMessageBytes: -1}, "max.message.bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := EnsureTopics(context.Background(), conn, []TopicSpec{tc.spec})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestDescribeTopicRequests(t *testing.T) {
	specs := []TopicSpec{
		{Name: "a", Partitions: 3, ReplicationFactor: -1, Retention: time.Hour, CompressionType: "producer", MaxMessageBytes: pipeline.ByteSize(2 << 20)},
		{Name: "b", Partitions: -1, ReplicationFactor: 3, Retention: -1},
	}
	got := DescribeTopicRequests(specs)
	for _, want := range []string{
		"CreateTopics a partitions=3 replication_factor=broker-default retention.ms=3600000 compression.type=producer max.message.bytes=2097152\n",
		"CreateTopics b partitions=broker-default replication_factor=3 retention.ms=-1\n",
		"never altered",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("dry run lacks %q:\n%s", want, got)
		}
	}
}

func TestDeadLetterWriterProducesToTheDeadLetterTopic(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t, 1)
	if err := c.CreateTopic(DefaultTopicDeadLetter, 1, nil); err != nil {
		t.Fatal(err)
	}
	dw, err := NewDeadLetterWriter(testConfig(t, c.ListenAddrs()), pipeline.NopTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dw.Run(ctx) }()
	rec := doc(pipeline.KindFlow, "k", 1, `{"bytes_in":"x"}`)
	rec.Source, rec.Offset = DefaultTopicFlows+"/0", 41
	dl := DeadLetter{Record: rec, Reason: "mapper_parsing_exception", Status: 400, Index: "flowship-flows-c-2025.03.01"}
	if err := dw.Write(ctx, []DeadLetter{dl}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := dw.Close(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, c.ListenAddrs(), 1, 30*time.Second, DefaultTopicDeadLetter)
	if len(got) != 1 {
		t.Fatalf("read %d dead letters, want 1", len(got))
	}
	back, err := ParseDeadLetter(toKafkaGo(got[0]))
	if err != nil {
		t.Fatal(err)
	}
	if back.Record.ID != rec.ID || back.Status != 400 || back.Record.Source != rec.Source || back.Record.Offset != 41 || back.Index != dl.Index {
		t.Errorf("dead letter read back = %+v", back)
	}
}
