//go:build integration && tinyqueue

// These need an Elasticsearch started with a tiny write queue
// (FLOWSHIP_ES_WRITE_QUEUE=1 bash deploy/local/services.sh up es, or a second
// instance on another FLOWSHIP_ES_PORT), so they are not part of `make test`;
// there, cmd/flowship's TestBulkRejections429 starts such a node itself and
// checks the whole indexer under item-level 429s. Run with:
//   go test -tags "integration tinyqueue" -run 'Flood|Item429' ./sinks/elasticsearch

package elasticsearch

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// TestIntegrationFloodSurvivesItemRejections needs an Elasticsearch started
// with a tiny write queue (FLOWSHIP_ES_WRITE_QUEUE=1 bash
// deploy/local/services.sh up es, or a second instance on another
// FLOWSHIP_ES_PORT): concurrent bulks then get item-level 429s inside HTTP
// 200, and every document must still arrive exactly once.
func TestIntegrationFloodSurvivesItemRejections(t *testing.T) {
	if os.Getenv("FLOWSHIP_ES_WRITE_QUEUE") == "" {
		t.Skip("FLOWSHIP_ES_WRITE_QUEUE is not set: needs an Elasticsearch with a tiny write queue")
	}
	es := testenv.Elasticsearch(t)
	tel, reader := meterReader()
	cfg := DefaultConfig()
	cfg.URLs, cfg.Username = []string{es.URL}, es.Username
	cfg.PasswordEnv = "FLOWSHIP_ES_PASSWORD"
	cfg.Naming.Cluster = testenv.UniqueName(t, "flood")
	cfg.Workers, cfg.BulkActions, cfg.FlushInterval = 8, 100, 5*time.Millisecond
	cfg.Retry = RetryConfig{Initial: 20 * time.Millisecond, Max: 500 * time.Millisecond}
	t.Setenv("FLOWSHIP_ES_PASSWORD", es.Password)
	t.Cleanup(func() { esDo(t, es, http.MethodDelete, "/"+cfg.Naming.Pattern(pipeline.KindFlow), "") })
	// Several shards spread the writes so that the single write thread is the bottleneck.
	esDo(t, es, http.MethodPut, "/_index_template/"+cfg.Naming.Cluster, `{"index_patterns":["`+
		cfg.Naming.Pattern(pipeline.KindFlow)+`"],"priority":500,"template":{"settings":{"number_of_shards":4,"number_of_replicas":0}}}`)
	t.Cleanup(func() { esDo(t, es, http.MethodDelete, "/_index_template/"+cfg.Naming.Cluster, "") })
	dlq := &pipelinetest.Sink{}
	s, err := New(cfg, tel, dlq)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	const producers, perProducer, batch = 4, 5000, 100
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sendAll(t, s, docs(fmt.Sprintf("flood%d", p), perProducer), batch)
		}()
	}
	wg.Wait()
	const total = producers * perProducer
	if got := countDocs(t, es, cfg.Naming.Pattern(pipeline.KindFlow)); got != total {
		t.Fatalf("%d documents indexed, want %d", got, total)
	}
	retried := counter(t, reader, "flowship_es_items_total", "retried")
	t.Logf("items retried after rejections: %d", retried)
	if retried == 0 {
		t.Error("no document was rejected: the write queue is not small enough to test anything")
	}
	if n := len(dlq.Records()); n != 0 {
		t.Errorf("%d documents dead-lettered", n)
	}
}
