package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"golang.org/x/sync/errgroup"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/retention"
	"github.com/flowship/flowship/schema/synth"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/sinks/kafka"
)

// demoOptions are the flags of `flowship demo`.
type demoOptions struct {
	embedded       bool
	dir            string
	windows        int
	flowsPerWindow int
	timeout        time.Duration
	ui             bool
	uiListen       string
	source         string
}

// runDemo runs the whole pipeline on this machine: it generates Calico
// logs with denies, collects them into Kafka, indexes them into
// Elasticsearch and prints what landed. With FLOWSHIP_KAFKA_BROKERS and
// FLOWSHIP_ES_URL set (make demo sets them) it uses those real services;
// otherwise, or with --embedded, an in-process Kafka-protocol broker and a
// bulk-NDJSON file in place of Elasticsearch.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o demoOptions
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.embedded, "embedded", false, "use the in-process broker and a file sink even when real services are configured")
	fs.StringVar(&o.dir, "dir", "", "working directory for the generated logs and state (default: a new temporary directory)")
	fs.IntVar(&o.windows, "windows", 6, "Felix flush windows (5 minutes each) to generate")
	fs.IntVar(&o.flowsPerWindow, "flows-per-window", 2000, "connections per window")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "give up when the documents have not all landed by then")
	fs.BoolVar(&o.ui, "ui", true, "with a real Elasticsearch, end by serving `flowship ui` on the demo data until Ctrl-C")
	fs.StringVar(&o.uiListen, "ui-listen", "127.0.0.1:9090", "listen address of the demo's UI")
	fs.StringVar(&o.source, "source", demoSourceCalico, "calico: Felix's flows/l7/dns log files; hubble: a Cilium Hubble exporter file (rotating) read by inputs.hubble; goldmane: Goldmane's emitter posting NDJSON windows over mTLS to flowship receive")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if o.dir == "" {
		d, err := os.MkdirTemp("", "flowship-demo-")
		if err != nil {
			return err
		}
		o.dir = d
	} else if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	brokers, esURL := os.Getenv("FLOWSHIP_KAFKA_BROKERS"), os.Getenv("FLOWSHIP_ES_URL")
	if !o.embedded && (brokers == "" || esURL == "") {
		fmt.Fprintln(stdout, "FLOWSHIP_KAFKA_BROKERS / FLOWSHIP_ES_URL are not set (no Java, or services not started):")
		fmt.Fprintln(stdout, "running the embedded default: an in-process Kafka-protocol broker and a bulk-NDJSON file instead of Elasticsearch.")
		o.embedded = true
	}
	start := time.Now()
	d, err := newDemo(o)
	if err != nil {
		return err
	}
	if o.embedded {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			return fmt.Errorf("embedded broker: %w", err)
		}
		defer cluster.Close()
		d.setBrokers(cluster.ListenAddrs())
	} else {
		d.setBrokers([]string{brokers})
		d.setElasticsearch(esURL, os.Getenv("FLOWSHIP_ES_USER"), os.Getenv("FLOWSHIP_ES_PASSWORD"))
	}
	return d.run(ctx, stdout, start)
}

// demo holds one demo run's configuration and expectations.
type demo struct {
	opts     demoOptions
	cfg      Config
	expected map[pipeline.Kind]int64
	lines    map[pipeline.Kind]int64
	bulkFile string
	// --source hubble and goldmane: what was generated, the emitter's
	// POST bodies and client TLS configuration.
	sourceNote     string
	bodies         [][]byte
	goldmaneClient *tls.Config
}

func newDemo(o demoOptions) (*demo, error) {
	cfg := DefaultConfig()
	cfg.Cluster, cfg.Node = "demo", "demo-node-1"
	cfg.Telemetry.Listen = "127.0.0.1:0"
	cfg.Telemetry.LogFormat = "text"
	cfg.Telemetry.LogLevel = "warn"
	suffix := fmt.Sprint(time.Now().Unix())
	cfg.Kafka.Topics = kafka.Topics{Flows: "flowship-demo-" + suffix + ".flows", L7: "flowship-demo-" + suffix + ".l7",
		DNS: "flowship-demo-" + suffix + ".dns", DeadLetter: "flowship-demo-" + suffix + ".dlq"}
	cfg.Kafka.DeadLetterLog = filepath.Join(o.dir, "kafka-dead-letter.jsonl")
	cfg.Index.Consumer.GroupID = "flowship-demo-" + suffix
	cfg.Index.Consumer.Linger = 200 * time.Millisecond
	cfg.Index.Elasticsearch.FlushInterval = 200 * time.Millisecond
	cfg.Aggregation.IdleFlush = 2 * time.Second
	cfg.Retention.Replicas = 0
	for _, in := range []*Input{&cfg.Inputs.Flows, &cfg.Inputs.L7, &cfg.Inputs.DNS} {
		base := map[pipeline.Kind]string{pipeline.KindFlow: "flowlogs/flows", pipeline.KindL7: "l7logs/l7", pipeline.KindDNS: "dnslogs/dns"}[in.Kind]
		in.Paths = []string{filepath.Join(o.dir, base+".log"), filepath.Join(o.dir, base+"-*.log")}
		in.PositionsFile = filepath.Join(o.dir, "positions", string(in.Kind)+".json")
		in.Linger = 200 * time.Millisecond
	}
	d := &demo{opts: o, cfg: cfg, bulkFile: filepath.Join(o.dir, "elasticsearch-bulk.ndjson")}
	return d, d.configureSource()
}

func (d *demo) setBrokers(b []string) {
	d.cfg.Kafka.Brokers = b
	d.cfg.Index.Consumer.Brokers = b
}

func (d *demo) setElasticsearch(url, user, password string) {
	es := &d.cfg.Index.Elasticsearch
	es.URLs = []string{url}
	if user != "" {
		es.Username = user
		pw := filepath.Join(d.opts.dir, "es-password")
		_ = os.WriteFile(pw, []byte(password), 0o600)
		es.PasswordFile = pw
	}
}

// generate writes the logs and computes, with the offline aggregator,
// how many documents the pipeline must deliver.
func (d *demo) generate(ctx context.Context) error {
	switch d.opts.source {
	case sourceHubble:
		return d.generateHubble(ctx)
	case sourceGoldmane:
		return d.generateGoldmane(ctx)
	}
	g := synth.DefaultConfig()
	g.Windows = d.opts.windows
	g.FlowsPerWindow = d.opts.flowsPerWindow
	g.Nodes = 1
	g.Start = time.Now().UTC().Truncate(5 * time.Minute).Add(-time.Duration(d.opts.windows+1) * 5 * time.Minute)
	if _, err := synth.New(g).Run(ctx, d.opts.dir); err != nil {
		return fmt.Errorf("generating logs: %w", err)
	}
	agg, err := d.offlineAggregator()
	if err != nil {
		return err
	}
	for _, in := range d.cfg.Inputs.Each() {
		files, _ := filepath.Glob(in.Paths[1])
		files = append(files, in.Paths[0])
		for _, f := range files {
			if _, err := feedFile(ctx, agg, f, in.Kind, io.Discard); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return d.expectFrom(ctx, agg)
}

// prepare creates topics and, with a real Elasticsearch, the templates;
// it removes the documents of earlier demo runs so the counts are this run's.
func (d *demo) prepare(ctx context.Context) error {
	if _, _, err := kafka.EnsureTopics(ctx, d.cfg.Kafka.Connection, d.cfg.TopicSetup.Specs(d.cfg.Kafka.Topics)); err != nil {
		return fmt.Errorf("creating topics: %w", err)
	}
	if d.opts.embedded {
		return nil
	}
	client, err := esink.NewClient(d.cfg.Index.Elasticsearch)
	if err != nil {
		return err
	}
	for _, k := range pipeline.Kinds {
		res, err := client.Indices.Delete([]string{d.cfg.Index.Elasticsearch.Naming.Pattern(k)}, client.Indices.Delete.WithContext(ctx))
		if err == nil {
			res.Body.Close()
		}
	}
	_, err = retention.Apply(ctx, client, d.cfg.Retention, kindSpecs(), retention.ApplyOptions{})
	return err
}

func (d *demo) run(ctx context.Context, out io.Writer, start time.Time) error {
	fmt.Fprintf(out, "flowship demo in %s\n", d.opts.dir)
	sections := []Section{SecTelemetry, SecInputs, SecAggregation, SecKafka, SecConsumer}
	if d.opts.source == sourceGoldmane {
		sections = []Section{SecTelemetry, SecKafka, SecConsumer, SecReceive}
	}
	if !d.opts.embedded {
		sections = append(sections, SecElasticsearch, SecRetention)
	}
	if err := d.cfg.Validate(sections...); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	if err := d.generate(ctx); err != nil {
		return err
	}
	if d.sourceNote != "" {
		fmt.Fprintln(out, d.sourceNote)
	} else {
		fmt.Fprintf(out, "generated %d flow, %d L7 and %d DNS lines (%d windows, 10%% denied)\n",
			d.lines[pipeline.KindFlow], d.lines[pipeline.KindL7], d.lines[pipeline.KindDNS], d.opts.windows)
	}
	if err := d.prepare(ctx); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(d.opts.dir, "flowship.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(rctx)
	first := "collect"
	if d.opts.source == sourceGoldmane {
		first = "Goldmane emitter → receive (mTLS)"
		if err := d.runGoldmane(gctx, logFile, g.Go); err != nil {
			cancel()
			return err
		}
	} else {
		g.Go(func() error { return collect(gctx, d.cfg, logFile) })
	}
	if d.opts.embedded {
		g.Go(func() error { return d.indexToFile(gctx, logFile) })
	} else {
		g.Go(func() error { return index(gctx, d.cfg, logFile) })
	}
	fmt.Fprintf(out, "running %s → Kafka → index → Elasticsearch ...\n", first)
	waitErr := d.waitLanded(gctx, out)
	cancel()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("pipeline: %w (log: %s)", err, logFile.Name())
	}
	if waitErr != nil {
		return fmt.Errorf("%w (log: %s)", waitErr, logFile.Name())
	}
	if err := d.report(ctx, out, time.Since(start)); err != nil {
		return err
	}
	if d.opts.embedded || !d.opts.ui {
		return nil
	}
	fmt.Fprintln(out, "\nThe UI on the demo data (time range: the last hour, which holds the generated windows):")
	cfg := d.cfg
	cfg.UI.Listen = d.opts.uiListen
	if err := cfg.UI.Validate(); err != nil {
		return usageError{err.Error()}
	}
	return serveUI(ctx, cfg, out, os.Stderr)
}
