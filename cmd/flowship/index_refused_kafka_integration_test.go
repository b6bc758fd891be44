//go:build integration

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// scrape returns the body of GET http://addr/path and its status.
func scrape(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// metricSum adds the values of every series of name whose labels contain
// label (e.g. `reason="forbidden"`, or "" for all) in a Prometheus text body.
func metricSum(body, name, label string) (int64, bool) {
	re := regexp.MustCompile(`(?m)^` + name + `\{([^}]*)\} (\S+)$`)
	var sum int64
	found := false
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		if !strings.Contains(m[1], label) {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		sum += int64(v)
		found = true
	}
	return sum, found
}

// While Elasticsearch refuses every write (a write block: 403 per item),
// the indexer keeps the records: the consumer lag counts all of them, the
// waiting gauge names the reason, /readyz says why and since when. Once
// the block is lifted everything is indexed, the lag drops to 0 and the
// offsets are committed soon after.
func TestKafkaIndexerWhileElasticsearchRefusesWrites(t *testing.T) {
	node := testenv.Elasticsearch(t)
	listen := "127.0.0.1:" + freePort(t)
	e := newE2E(t, node, map[string]string{"IT_TELEMETRY_LISTEN": listen})
	e.cfg.Index.Elasticsearch.UnreadyAfter = time.Second
	e.cfg.Index.Consumer.CommitInterval = time.Hour // only the commit after settling may commit
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	at := time.Now().UTC().Truncate(time.Second)
	const n = 60
	docs := make([]pipeline.Record, n)
	for i := range docs {
		docs[i] = pipeline.Record{Kind: pipeline.KindFlow, Key: []byte(fmt.Sprintf("k%d", i%7)), Node: "e2e-node-1",
			ID: fmt.Sprintf("refused-%d", i), Time: at, Value: []byte(fmt.Sprintf(`{"n":%d}`, i))}
	}
	idx := e.cfg.Index.Elasticsearch.Naming.Index(pipeline.KindFlow, at)
	if st, b, err := esDo(ctx, e.es, http.MethodPut, "/"+idx, ""); err != nil || st != 200 {
		t.Fatalf("create %s: %d %s %v", idx, st, b, err)
	}
	block := func(v string) {
		t.Helper()
		if st, b, err := esDo(ctx, e.es, http.MethodPut, "/"+idx+"/_settings", `{"index.blocks.write":`+v+`}`); err != nil || st != 200 {
			t.Fatalf("index.blocks.write=%s on %s: %d %s %v", v, idx, st, b, err)
		}
	}
	block("true")
	t.Cleanup(func() {
		esDo(context.Background(), e.es, http.MethodPut, "/"+idx+"/_settings", `{"index.blocks.write":null}`)
	})
	e.produce(ctx, docs)

	ictx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- index(ictx, e.cfg, io.Discard) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("index: %v", err)
		}
	}()

	waitFor(t, time.Minute, "refused documents reported", func() (bool, string, error) {
		_, metrics := scrape(t, listen, "/metrics")
		lag, _ := metricSum(metrics, "flowship_kafka_consumer_lag_records", "")
		waiting, _ := metricSum(metrics, "flowship_es_waiting_documents", `reason="forbidden"`)
		st, ready := scrape(t, listen, "/readyz")
		return lag == n && waiting > 0 && st == http.StatusServiceUnavailable && strings.Contains(ready, "forbidden"),
			fmt.Sprintf("lag %d, waiting forbidden %d, readyz %d %q", lag, waiting, st, ready), nil
	})
	_, ready := scrape(t, listen, "/readyz")
	for _, want := range []string{"forbidden", "since", "write block"} {
		if !strings.Contains(ready, want) {
			t.Errorf("/readyz does not say %q: %s", want, ready)
		}
	}
	// committed sums the group's committed offsets of the flows topic.
	committed := func() int64 {
		cl := &kafkago.Client{Addr: kafkago.TCP(e.cfg.Kafka.Brokers...), Timeout: 10 * time.Second}
		topic := e.cfg.Kafka.Topics.Flows
		res, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: e.cfg.Index.Consumer.GroupID,
			Topics: map[string][]int{topic: {0, 1, 2}}})
		if err != nil {
			t.Fatalf("fetching committed offsets: %v", err)
		}
		var sum int64
		for _, p := range res.Topics[topic] {
			sum += max(p.CommittedOffset, 0)
		}
		return sum
	}
	if c := committed(); c != 0 {
		t.Errorf("offsets committed (%d records) while nothing was indexed", c)
	}

	block("null")
	waitFor(t, time.Minute, "indexed after the block was lifted", func() (bool, string, error) {
		_, metrics := scrape(t, listen, "/metrics")
		lag, _ := metricSum(metrics, "flowship_kafka_consumer_lag_records", "")
		waiting, _ := metricSum(metrics, "flowship_es_waiting_documents", "")
		st, ready := scrape(t, listen, "/readyz")
		c := committed()
		return lag == 0 && waiting == 0 && st == http.StatusOK && c == n,
			fmt.Sprintf("lag %d, waiting %d, readyz %d %q, committed %d", lag, waiting, st, ready, c), nil
	})
}
