//go:build integration

package elasticsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// realSink runs a Sink against the real Elasticsearch with a naming whose
// cluster is unique to the test, and deletes its indices afterwards.
func realSink(t *testing.T, es testenv.ES, mode NamingMode, mutate func(*Config)) (*harness, Naming) {
	t.Helper()
	cfg := realConfig(t, es, mode, mutate)
	return startSink(t, cfg, &pipelinetest.Sink{}), cfg.Naming
}

// realConfig is the configuration realSink runs with.
func realConfig(t *testing.T, es testenv.ES, mode NamingMode, mutate func(*Config)) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.URLs = []string{es.URL}
	cfg.Username = es.Username
	cfg.Naming = Naming{Mode: mode, Prefix: "flowship", Cluster: testenv.UniqueName(t, "c")}
	cfg.FlushInterval = 20 * time.Millisecond
	cfg.Retry = RetryConfig{Initial: 50 * time.Millisecond, Max: time.Second}
	if es.Password != "" {
		pw := filepath.Join(t.TempDir(), "password")
		if err := os.WriteFile(pw, []byte(es.Password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.PasswordFile = pw
	}
	if mutate != nil {
		mutate(&cfg)
	}
	t.Cleanup(func() {
		for _, k := range pipeline.Kinds {
			esDo(t, es, http.MethodDelete, "/"+cfg.Naming.Pattern(k), "")
		}
	})
	return cfg
}

// countDocs refreshes and counts the documents behind pattern.
func countDocs(t *testing.T, es testenv.ES, pattern string) int {
	t.Helper()
	esDo(t, es, http.MethodPost, "/"+pattern+"/_refresh?allow_no_indices=true", "")
	st, b := esDo(t, es, http.MethodGet, "/"+pattern+"/_count?allow_no_indices=true", "")
	if st != 200 {
		t.Fatalf("count %s: %d %s", pattern, st, b)
	}
	var c struct{ Count int }
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Count
}

// sendAll consumes recs in batches of size and waits for every ack.
func sendAll(t *testing.T, s *Sink, recs []pipeline.Record, size int) {
	t.Helper()
	var acks []*ackRecorder
	for i := 0; i < len(recs); i += size {
		acks = append(acks, consume(t, s, recs[i:min(i+size, len(recs))]))
	}
	for i, a := range acks {
		if err := a.wait(t); err != nil {
			t.Fatalf("batch %d: ack = %v", i, err)
		}
	}
}

func TestIntegrationCreateTwiceKeepsOneCopy(t *testing.T) {
	es := testenv.Elasticsearch(t)
	tel, reader := meterReader()
	h, naming := realSink(t, es, NamingFlowship, nil)
	// Replace the harness sink with one that reports metrics.
	h.stop()
	s, err := New(h.sink.cfg, tel, h.dlq)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	const n = 3000
	recs := docs("dup", n)
	sendAll(t, s, recs, 250)
	sendAll(t, s, recs, 170) // a replay, batched differently
	if got := countDocs(t, es, naming.Pattern(pipeline.KindFlow)); got != n {
		t.Fatalf("%d documents after indexing %d twice, want %d", got, n, n)
	}
	if c, cf := counter(t, reader, "flowship_es_items_total", "created"), counter(t, reader, "flowship_es_items_total", "conflict"); c != n || cf != n {
		t.Errorf("created = %d, conflict = %d; want %d each", c, cf, n)
	}
}

func TestIntegrationMappingConflictGoesToDeadLetter(t *testing.T) {
	es := testenv.Elasticsearch(t)
	h, naming := realSink(t, es, NamingFlowship, nil)
	recs := docs("m", 50)
	recs[13].Value = []byte(`{"n":"abc","p":"m"}`)
	createStrictIndex(t, es, naming.Index(pipeline.KindFlow, day))
	sendAll(t, h.sink, recs, 50)
	if got := countDocs(t, es, naming.Pattern(pipeline.KindFlow)); got != 49 {
		t.Errorf("%d documents indexed, want 49", got)
	}
	dl := h.dlq.(*pipelinetest.Sink).Records()
	if len(dl) != 1 || dl[0].ID != "m-13" {
		t.Fatalf("dead letters = %v, want m-13 only", dl)
	}
	var env RejectedDocument
	if err := json.Unmarshal(dl[0].Value, &env); err != nil {
		t.Fatal(err)
	}
	if env.Status != 400 || env.ErrorType != "document_parsing_exception" || !strings.Contains(env.Reason, "[n]") ||
		env.Index != naming.Index(pipeline.KindFlow, day) || string(env.Document) != `{"n":"abc","p":"m"}` {
		t.Errorf("envelope = %s", dl[0].Value)
	}
}

func TestIntegrationDailyIndicesFollowEventTime(t *testing.T) {
	es := testenv.Elasticsearch(t)
	for _, mode := range []NamingMode{NamingFlowship, NamingCalico} {
		t.Run(string(mode), func(t *testing.T) {
			h, naming := realSink(t, es, mode, nil)
			base := time.Date(2025, 6, 10, 22, 0, 0, 0, time.UTC)
			var recs []pipeline.Record
			want := map[string]int{}
			for i := range 30 {
				r := rec(fmt.Sprintf("t-%d", i), fmt.Sprintf(`{"n":%d}`, i))
				r.Kind = pipeline.Kinds[i%3]
				r.Time = base.Add(time.Duration(i) * 2 * time.Hour) // 10th to 13th, local time irrelevant
				if i%2 == 0 {
					r.Time = r.Time.In(time.FixedZone("PDT", -7*3600))
				}
				recs = append(recs, r)
				want[naming.Index(r.Kind, r.Time)]++
			}
			sendAll(t, h.sink, recs, 7)
			got := map[string]int{}
			for _, k := range pipeline.Kinds {
				esDo(t, es, http.MethodPost, "/"+naming.Pattern(k)+"/_refresh", "")
				st, b := esDo(t, es, http.MethodGet, "/_cat/indices/"+naming.Pattern(k)+"?format=json&h=index,docs.count", "")
				if st != 200 {
					t.Fatalf("cat indices: %d %s", st, b)
				}
				var rows []struct {
					Index string `json:"index"`
					Docs  string `json:"docs.count"`
				}
				if err := json.Unmarshal(b, &rows); err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					var n int
					fmt.Sscan(r.Docs, &n)
					got[r.Index] = n
					if _, _, ok := naming.ParseIndex(r.Index); !ok {
						t.Errorf("ParseIndex rejects the index %q the sink created", r.Index)
					}
				}
			}
			if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
				t.Errorf("indices = %v, want %v", sorted(got), sorted(want))
			}
			if len(want) < 9 {
				t.Errorf("test data spans only %d indices", len(want))
			}
		})
	}
}

func sorted(m map[string]int) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}

func TestIntegrationWrongPasswordWaitsAndSaysWhy(t *testing.T) {
	es := testenv.Elasticsearch(t)
	if es.Username == "" {
		t.Skip("Elasticsearch runs without security")
	}
	bad := es
	bad.Password = "not-the-password"
	h, _ := realSink(t, bad, NamingFlowship, nil)
	a := consume(t, h.sink, docs("auth", 3))
	// The sink tried and holds all three, waiting for new credentials.
	waitFor(t, func() bool { n, _ := waitingFor(h.sink, "unauthorized"); return n == 3 })
	if a.count() != 0 {
		t.Fatalf("batch settled with wrong credentials: %v", a.err)
	}
	if n := len(h.dlq.(*pipelinetest.Sink).Records()); n != 0 {
		t.Fatalf("%d documents dead-lettered for an authentication failure", n)
	}
	if !containsAll(h.logs.String(), "authentication failed for user "+es.Username, "password_file") {
		t.Errorf("log does not name the credentials to check:\n%s", h.logs)
	}
	h.stop()
	if err := a.wait(t); err == nil {
		t.Error("unsettled batch acked nil at shutdown")
	}
}

// A write block answers each item with 403 cluster_block_exception: the
// documents wait (counted, logged, reported by Ready after unready_after)
// and are indexed once the block is lifted.
func TestIntegrationWriteBlockWaitsAndReportsWhy(t *testing.T) {
	es := testenv.Elasticsearch(t)
	tel, mr := meterReader()
	logs := &syncBuffer{}
	cfg := realConfig(t, es, NamingFlowship, func(c *Config) { c.UnreadyAfter = 300 * time.Millisecond })
	naming := cfg.Naming
	h := startSinkTel(t, cfg, tel, logs, &pipelinetest.Sink{})
	recs := docs("blocked", 5)
	index := naming.Index(recs[0].Kind, recs[0].Time)
	if st, b := esDo(t, es, http.MethodPut, "/"+index, ""); st != 200 {
		t.Fatalf("create %s: %d %s", index, st, b)
	}
	if st, b := esDo(t, es, http.MethodPut, "/"+index+"/_settings", `{"index.blocks.write":true}`); st != 200 {
		t.Fatalf("block %s: %d %s", index, st, b)
	}
	t.Cleanup(func() { esDo(t, es, http.MethodPut, "/"+index+"/_settings", `{"index.blocks.write":null}`) })
	a := consume(t, h.sink, recs)
	waitFor(t, func() bool { n, _ := waitingFor(h.sink, "forbidden"); return n == 5 })
	if g := waitingGauge(t, mr, "forbidden"); g != 5 {
		t.Errorf("flowship_es_waiting_documents{reason=forbidden} = %d, want 5", g)
	}
	waitFor(t, func() bool { return h.sink.Ready() != nil })
	if err := h.sink.Ready(); !containsAll(err.Error(), "5 documents", "forbidden", "since", "write block") {
		t.Errorf("Ready() = %v", err)
	}
	if !containsAll(logs.String(), "documents waiting: forbidden", "index.blocks.write") {
		t.Errorf("log does not say why documents wait:\n%s", logs)
	}
	if a.count() != 0 || len(h.dlq.(*pipelinetest.Sink).Records()) != 0 {
		t.Fatalf("blocked documents settled (ack %v) or dead-lettered", a.err)
	}
	if st, b := esDo(t, es, http.MethodPut, "/"+index+"/_settings", `{"index.blocks.write":null}`); st != 200 {
		t.Fatalf("unblock %s: %d %s", index, st, b)
	}
	if err := a.wait(t); err != nil {
		t.Fatalf("ack = %v", err)
	}
	if err := h.sink.Ready(); err != nil {
		t.Errorf("Ready() = %v after the block was lifted", err)
	}
	if n := countDocs(t, es, index); n != 5 {
		t.Errorf("%d documents in %s, want 5", n, index)
	}
}
