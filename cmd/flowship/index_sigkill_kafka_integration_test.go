//go:build integration

package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// committedSum is the sum of the group's committed offsets over the kind
// topics' three partitions (-1, none, counts as 0).
func (e *e2e) committedSum(ctx context.Context) int64 {
	e.t.Helper()
	cl := &kafkago.Client{Addr: kafkago.TCP(e.cfg.Kafka.Brokers...), Timeout: 10 * time.Second}
	req := &kafkago.OffsetFetchRequest{GroupID: e.cfg.Index.Consumer.GroupID, Topics: map[string][]int{}}
	for _, tp := range e.cfg.Kafka.Topics.Kinds() {
		req.Topics[tp] = []int{0, 1, 2}
	}
	res, err := cl.OffsetFetch(ctx, req)
	if err != nil {
		e.t.Fatalf("fetching committed offsets: %v", err)
	}
	var sum int64
	for _, ps := range res.Topics {
		for _, p := range ps {
			sum += max(p.CommittedOffset, 0)
		}
	}
	return sum
}

// Indexers SIGKILLed again and again must each commit what they indexed,
// soon after it settled, not only at commit_interval (here 1h, longer than
// any run): every run is killed as soon as the group's committed offsets
// (polled) moved past the previous run's, and they must move within 60s.
func TestKafkaIndexerSIGKILLLoopCommitsEachRun(t *testing.T) {
	node := testenv.Elasticsearch(t)
	e := newE2E(t, node, map[string]string{"IT_COMMIT_INTERVAL": "1h", "IT_BULK_ACTIONS": "100",
		"IT_CONSUMER_BATCH": "100", "IT_ES_WORKERS": "1"})
	bin := buildFlowship(t)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Second)
	docs := make([]pipeline.Record, 3000)
	for i := range docs {
		docs[i] = pipeline.Record{Kind: pipeline.KindFlow, Key: []byte(fmt.Sprintf("k%d", i%97)), Node: "e2e-node-1",
			ID: fmt.Sprintf("kill-loop-%d", i), Time: at, Value: []byte(fmt.Sprintf(`{"n":%d}`, i))}
	}
	e.produce(ctx, docs)
	prev := e.committedSum(ctx)
	for run := range 4 {
		p := e.startIndexer(bin, run)
		p.waitLog(t, "kafka: joined consumer group", 2*time.Minute)
		start := time.Now()
		var got int64
		for {
			p.running(t)
			if got = e.committedSum(ctx); got > prev || got == int64(len(docs)) {
				break
			}
			if time.Since(start) > time.Minute {
				t.Fatalf("run %d: committed offsets still at %d a minute after joining (commit_interval is 1h)", run, got)
			}
			time.Sleep(20 * time.Millisecond)
		}
		p.kill(t)
		e.logf("run %d: committed %d → %d within %s of joining, then SIGKILLed", run, prev, got, time.Since(start).Round(10*time.Millisecond))
		if got == int64(len(docs)) {
			break
		}
		prev = got
	}
}
