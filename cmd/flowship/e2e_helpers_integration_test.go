//go:build integration

package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	goes "github.com/elastic/go-elasticsearch/v8"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/aggregator"
	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
	"github.com/flowship/flowship/retention"
	"github.com/flowship/flowship/schema/synth"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/sinks/kafka"
)

// e2eConfigFile is the configuration every stage of the end-to-end tests
// reads, in-process and as the flowship binary.
var e2eConfigFile = filepath.Join("testdata", "e2e", "flowship.yaml")

// e2e is one test's pipeline: its own topics, consumer group and cluster
// name (so its own indices), the configuration all its stages share, and
// the Elasticsearch node it indexes into.
type e2e struct {
	t     *testing.T
	dir   string
	vars  map[string]string // the IT_* variables of testdata/e2e/flowship.yaml
	cfg   Config
	es    *goes.Client
	begin time.Time
}

// newE2E creates the test's topics (3 partitions each), applies the index
// templates with `setup`'s code to node, and removes topics, indices and
// templates when the test ends. extra overrides IT_* variables.
func newE2E(t *testing.T, node testenv.ES, extra map[string]string) *e2e {
	t.Helper()
	brokers := testenv.KafkaBrokers(t)
	e := &e2e{t: t, dir: t.TempDir(), begin: time.Now()}
	for _, d := range []string{"state", "logs", "flowlogs", "l7logs", "dnslogs"} {
		if err := os.MkdirAll(filepath.Join(e.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.vars = map[string]string{
		"IT_DIR": e.dir, "IT_BOOTSTRAP_BROKER": brokers[0], "IT_CLUSTER": testenv.UniqueName(t, "e2e"),
		"IT_GROUP": testenv.UniqueName(t, "indexer"), "IT_ES_URL": node.URL, "IT_ES_USER": node.Username,
		"IT_TOPIC_FLOWS": testenv.UniqueName(t, "flows"), "IT_TOPIC_L7": testenv.UniqueName(t, "l7"),
		"IT_TOPIC_DNS": testenv.UniqueName(t, "dns"), "IT_TOPIC_DLQ": testenv.UniqueName(t, "dlq"),
	}
	if node.Username != "" {
		pw := filepath.Join(e.dir, "state", "es-password")
		if err := os.WriteFile(pw, []byte(node.Password), 0o600); err != nil {
			t.Fatal(err)
		}
		e.vars["IT_ES_PASSWORD_FILE"] = pw
	}
	maps.Copy(e.vars, extra)
	e.cfg = e.config()
	client, err := esink.NewClient(e.cfg.Index.Elasticsearch)
	if err != nil {
		t.Fatal(err)
	}
	e.es = client
	e.createTopics()
	e.setupElasticsearch()
	return e
}

// config loads testdata/e2e/flowship.yaml with the test's variables (not
// the process environment, so tests can run in parallel).
func (e *e2e) config() Config {
	e.t.Helper()
	src, err := os.ReadFile(e2eConfigFile)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := DefaultConfig()
	lookup := func(k string) (string, bool) { v, ok := e.vars[k]; return v, ok }
	if err := decodeConfigEnv(e2eConfigFile, src, lookup, &cfg); err != nil {
		e.t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		e.t.Fatalf("%s: %v", e2eConfigFile, err)
	}
	return cfg
}

// environ is the process environment plus the test's variables, for the
// flowship binary.
func (e *e2e) environ() []string {
	env := os.Environ()
	for k, v := range e.vars {
		env = append(env, k+"="+v)
	}
	return env
}

func (e *e2e) logf(format string, args ...any) {
	e.t.Helper()
	e.t.Logf("%6s  %s", time.Since(e.begin).Round(100*time.Millisecond), fmt.Sprintf(format, args...))
}

func (e *e2e) createTopics() {
	e.t.Helper()
	specs := kafka.DefaultTopicSpecs(e.cfg.Kafka.Topics)
	var names []string
	for i := range specs {
		specs[i].Partitions = 3
		names = append(names, specs[i].Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, _, err := kafka.EnsureTopics(ctx, e.cfg.Kafka.Connection, specs); err != nil {
		e.t.Fatalf("creating topics: %v", err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cl := &kafkago.Client{Addr: kafkago.TCP(e.cfg.Kafka.Brokers...)}
		if _, err := cl.DeleteTopics(ctx, &kafkago.DeleteTopicsRequest{Topics: names}); err != nil {
			e.t.Logf("cleanup: deleting topics %v: %v", names, err)
		}
	})
}

// setupElasticsearch applies the real templates (what `flowship setup`
// does) and removes the test's indices and templates at the end.
func (e *e2e) setupElasticsearch() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := retention.Apply(ctx, e.es, e.cfg.Retention, kindSpecs(), retention.ApplyOptions{})
	e.t.Cleanup(func() { e.deleteElasticsearchObjects(rep) })
	if err != nil {
		e.t.Fatalf("setup (retention.Apply): %v", err)
	}
}

func (e *e2e) deleteElasticsearchObjects(rep retention.Report) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	paths := make([]string, 0, len(pipeline.Kinds)+len(rep.Objects))
	for _, k := range pipeline.Kinds {
		paths = append(paths, "/"+e.cfg.Index.Elasticsearch.Naming.Pattern(k)+"?expand_wildcards=all")
	}
	// Index templates first: a component template in use cannot be deleted.
	for _, typ := range []retention.ObjectType{retention.TypeIndexTemplate, retention.TypeComponentTemplate, retention.TypeILMPolicy} {
		for _, o := range rep.Objects {
			if o.Type == typ {
				paths = append(paths, map[retention.ObjectType]string{
					retention.TypeIndexTemplate: "/_index_template/", retention.TypeComponentTemplate: "/_component_template/",
					retention.TypeILMPolicy: "/_ilm/policy/"}[typ]+o.Name)
			}
		}
	}
	for _, p := range paths {
		if _, _, err := esDo(ctx, e.es, "DELETE", p, ""); err != nil {
			e.t.Logf("cleanup: DELETE %s: %v", p, err)
		}
	}
}

// generate writes windows Felix flush windows of flows, L7 and DNS lines
// (synth, the code behind `flowship gen`) into the input files, waiting
// pause between windows. The windows end before now, so every event-time
// bucket is complete.
func (e *e2e) generate(ctx context.Context, seed uint64, windows, flowsPerWindow int, pause time.Duration) error {
	g := synth.DefaultConfig()
	g.Seed = seed
	g.Nodes = 1
	g.FlowsPerWindow = flowsPerWindow
	g.L7PerWindow, g.DNSPerWindow = flowsPerWindow/5, flowsPerWindow/5
	g.Start = time.Now().UTC().Truncate(g.Window).Add(-time.Duration(windows+1) * g.Window)
	g.Windows = windows
	gen := synth.New(g)
	files := map[pipeline.Kind]*os.File{}
	for _, in := range e.cfg.Inputs.Each() {
		f, err := os.OpenFile(in.Paths[0], os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		files[in.Kind] = f
	}
	for i := 0; i < windows; i++ {
		w := gen.Next()
		for _, k := range pipeline.Kinds {
			if _, err := files[k].Write(joinLines(w.Lines(k))); err != nil {
				return fmt.Errorf("writing %s window %d: %w", k, i, err)
			}
		}
		if pause > 0 && i < windows-1 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
		}
	}
	return nil
}

func joinLines(lines [][]byte) []byte {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	out := make([]byte, 0, n)
	for _, l := range lines {
		out = append(out, l...)
	}
	return out
}

// offline runs the offline aggregator (what `flowship aggregate` runs: the
// same aggregation section, no idle flush, a final Flush) over the input
// files and returns its documents by _id. Two documents with one _id fail
// the test: the id set would not mean anything.
func (e *e2e) offline(ctx context.Context) map[string]pipeline.Record {
	e.t.Helper()
	ac := aggregationConfig(e.cfg)
	ac.IdleFlush = 0
	docs := map[string]pipeline.Record{}
	var dup []string
	capture := pipeline.ConsumerFunc(func(_ context.Context, b pipeline.Batch) error {
		for _, r := range b.Records {
			if _, ok := docs[r.ID]; ok {
				dup = append(dup, r.ID)
			}
			r.Key, r.Value = append([]byte(nil), r.Key...), append([]byte(nil), r.Value...)
			docs[r.ID] = r
		}
		b.Ack(nil)
		return nil
	})
	agg, err := aggregator.New(ac, pipeline.NopTelemetry(), capture)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, in := range e.cfg.Inputs.Each() {
		if _, err := feedFile(ctx, agg, in.Paths[0], in.Kind, io.Discard); err != nil {
			e.t.Fatalf("offline aggregation of %s: %v", in.Paths[0], err)
		}
	}
	if err := agg.Flush(ctx); err != nil {
		e.t.Fatal(err)
	}
	if len(dup) > 0 {
		e.t.Fatalf("the offline aggregator wrote %d _ids twice, e.g. %s", len(dup), dup[0])
	}
	for _, k := range pipeline.Kinds {
		s := agg.Stats(k)
		if s.Bad > 0 {
			e.t.Fatalf("offline aggregation: %d bad %s lines in generated input", s.Bad, k)
		}
		e.logf("offline %-5s %6d lines → %5d documents", k, s.Lines, s.Documents)
	}
	return docs
}

// produce writes docs to the kind topics with flowship's Kafka writer, in
// batches of 500, and returns once Kafka acknowledged all of them.
func (e *e2e) produce(ctx context.Context, docs []pipeline.Record) {
	e.t.Helper()
	w, err := kafka.NewWriter(e.cfg.Kafka, pipeline.NopTelemetry())
	if err != nil {
		e.t.Fatal(err)
	}
	defer w.Close()
	wctx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.Run(wctx) }()
	defer func() { stop(); <-ran }()
	acks := make(chan error, len(docs)/500+1)
	n := 0
	for start := 0; start < len(docs); start += 500 {
		b := pipeline.Batch{Records: docs[start:min(start+500, len(docs))], Ack: func(err error) { acks <- err }}
		if err := w.Consume(ctx, b); err != nil {
			e.t.Fatalf("producing: %v", err)
		}
		n++
	}
	for ; n > 0; n-- {
		select {
		case err := <-acks:
			if err != nil {
				e.t.Fatalf("producing: %v", err)
			}
		case <-ctx.Done():
			e.t.Fatalf("producing: %v", ctx.Err())
		}
	}
}

// waitFor polls cond every 500ms until it reports done, or fails t after
// timeout with cond's last description.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (done bool, status string, err error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var status string
	for {
		done, st, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if done {
			return
		}
		if st != status {
			t.Logf("%s: %s", what, st)
			status = st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not done after %s: %s", what, timeout, status)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// sortedDocs returns docs in _id order.
func sortedDocs(docs map[string]pipeline.Record) []pipeline.Record {
	ids := make([]string, 0, len(docs))
	for id := range docs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]pipeline.Record, 0, len(ids))
	for _, id := range ids {
		out = append(out, docs[id])
	}
	return out
}
