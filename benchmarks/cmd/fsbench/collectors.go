package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flowship/flowship/sinks/kafka"
)

// pollInterval is how often completion is checked; it bounds the error of
// every wall time.
const pollInterval = 100 * time.Millisecond

// runFloor runs the floor reader over the workload as a child process.
func (b *bench) runFloor(ctx context.Context, r int) (runResult, error) {
	dir := b.runDir("floor", r)
	self, err := os.Executable()
	if err != nil {
		return runResult{}, err
	}
	u, err := runProc(ctx, self, append([]string{"floor"}, b.w.files...), filepath.Join(dir, "floor.log"), b.o.timeout)
	if err != nil {
		return runResult{}, err
	}
	out, err := os.ReadFile(filepath.Join(dir, "floor.log"))
	if err != nil {
		return runResult{}, err
	}
	var fr floorResult
	if err := json.Unmarshal(out, &fr); err != nil {
		return runResult{}, fmt.Errorf("floor output %q: %w", out, err)
	}
	if fr.Lines != b.w.res.Lines {
		return runResult{}, fmt.Errorf("floor read %d lines, the workload has %d", fr.Lines, b.w.res.Lines)
	}
	return runResult{Lines: fr.Lines, Wall: u.Wall, CPU: u.CPU, PeakRSS: u.PeakRSS, RecordsOut: fr.Docs}, nil
}

func (b *bench) runDir(name string, r int) string {
	// A run starts from nothing: no positions, no state of an earlier run.
	dir := filepath.Join(b.o.work, fmt.Sprintf("%s-%s-%d", b.w.res.Name, name, r+1))
	_ = os.RemoveAll(dir)
	_ = os.MkdirAll(dir, 0o755)
	return dir
}

// topics returns fresh topic names for one run.
func (b *bench) topics(name string, r int) kafka.Topics {
	p := fmt.Sprintf("fsbench.%s.%s.%s%d.", b.stamp, b.w.res.Name, name, r+1)
	return kafka.Topics{Flows: p + "flows", L7: p + "l7", DNS: p + "dns", DeadLetter: p + "dlq"}
}

// collectVariant is how `flowship collect` is run: with flowship's
// defaults, or as the Helm chart's DaemonSet runs it (its memory limit,
// open keys and in-flight Kafka batches).
type collectVariant struct {
	name          string   // result key and directory name
	env           []string // added to the environment
	maxOpenKeys   int      // aggregation.max_open_keys; 0 keeps the default
	lateness      string   // aggregation.allowed_lateness; empty keeps the default
	kafkaInflight int      // kafka.max_inflight_batches; 0 keeps the default
}

// defaultVariant runs collect with flowship's defaults.
var defaultVariant = collectVariant{name: "flowship"}

// chartVariant runs collect with the chart's memory settings.
func chartVariant(c chartDefaults) collectVariant {
	return collectVariant{name: "flowship-chart", env: []string{fmt.Sprintf("FLOWSHIP_MEMORY_LIMIT=%d", c.MemoryLimit)},
		maxOpenKeys: c.MaxOpenKeys, lateness: c.Lateness, kafkaInflight: c.KafkaInflight}
}

// runCollect runs `flowship collect` until Kafka holds every document the
// offline aggregator says the workload makes; CPU and peak RSS are read at
// that moment, then the collector is stopped.
func (b *bench) runCollect(ctx context.Context, r int, expected int64, v collectVariant) (runResult, []string, error) {
	dir := b.runDir(v.name, r)
	topics := b.topics(v.name, r)
	if err := b.kafka.createTopics(ctx, topics); err != nil {
		return runResult{}, nil, fmt.Errorf("creating topics: %w", err)
	}
	cfg, _, err := b.writeConfigWith(dir, topics, "", v)
	if err != nil {
		return runResult{}, nil, err
	}
	p, err := startProcEnv(b.o.flowship, []string{"collect", "--config", cfg}, v.env, filepath.Join(dir, "collect.log"))
	if err != nil {
		return runResult{}, nil, err
	}
	res, err := b.measureUntil(ctx, p, func() (int64, error) { return b.kafka.count(ctx, topics.Kinds()...) }, expected)
	if stopErr := p.stop(30 * time.Second); err == nil && stopErr != nil {
		err = stopErr
	}
	if err != nil {
		return res, nil, fmt.Errorf("flowship collect: %w (log: %s)", err, p.log.Name())
	}
	res.Lines = b.w.res.Lines
	res.RecordsOut, err = b.kafka.count(ctx, topics.Kinds()...)
	return res, append(topics.Kinds(), topics.DeadLetter), err
}

// measureUntil polls count until it reaches want and samples p then.
func (b *bench) measureUntil(ctx context.Context, p *proc, count func() (int64, error), want int64) (runResult, error) {
	var res runResult
	err := waitFor(ctx, b.o.timeout, pollInterval, func() (bool, error) {
		select {
		case <-p.done:
			return false, fmt.Errorf("exited early: %v", p.err)
		default:
		}
		n, err := count()
		if err != nil {
			return false, nil // topics or metrics may not be there yet
		}
		if n > 0 && res.FirstOut == 0 {
			res.FirstOut, res.FirstCount = time.Since(p.start), n
		}
		if n < want {
			return false, nil
		}
		u, err := p.sample()
		res.Wall, res.CPU, res.PeakRSS, res.RecordsOut = u.Wall, u.CPU, u.PeakRSS, n
		return true, err
	})
	return res, err
}

// expectedDocs asks the offline aggregator (`flowship aggregate`, same
// aggregation section as variant v) how many documents the workload makes.
func (b *bench) expectedDocs(ctx context.Context, v collectVariant) (int64, error) {
	dir := b.runDir("aggregate-"+v.name, 0)
	cfg, _, err := b.writeConfigWith(dir, b.topics("aggregate", 0), "", v)
	if err != nil {
		return 0, err
	}
	log := filepath.Join(dir, "aggregate.log")
	args := append([]string{"aggregate", "--config", cfg, "--quiet"}, b.w.files...)
	if _, err := runProc(ctx, b.o.flowship, args, log, b.o.timeout); err != nil {
		return 0, err
	}
	out, err := os.ReadFile(log)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "total" {
			n, err := strconv.ParseInt(f[2], 10, 64)
			b.logf("flowship aggregate (%s settings): %d lines make %d documents", v.name, b.w.res.Lines, n)
			return n, err
		}
	}
	return 0, fmt.Errorf("no total in the output of flowship aggregate (%s)", log)
}

// writeConfig writes the flowship configuration of one run: the
// generated files as inputs, fresh positions, the run's topics, the
// telemetry endpoint on a free port; group names the consumer group for
// index runs. It returns the file and the telemetry address.
func (b *bench) writeConfig(dir string, t kafka.Topics, group string) (string, string, error) {
	return b.writeConfigWith(dir, t, group, collectVariant{})
}

// writeConfigWith is writeConfig with a collect variant's settings.
func (b *bench) writeConfigWith(dir string, t kafka.Topics, group string, v collectVariant) (string, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", "", err
	}
	pw := filepath.Join(dir, "es-password")
	if err := os.WriteFile(pw, []byte(b.o.esPassword), 0o600); err != nil {
		return "", "", err
	}
	if group == "" {
		group = "fsbench-unused"
	}
	var in strings.Builder
	for _, k := range []struct{ kind, rel, base string }{{"flows", "flowlogs", "flows"}, {"l7", "l7logs", "l7"}, {"dns", "dnslogs", "dns"}} {
		fmt.Fprintf(&in, "  %s:\n    paths: [%q, %q]\n    positions_file: %q\n    linger: 100ms\n    max_inflight_batches: %d\n", k.kind,
			filepath.Join(b.w.logs, k.rel, k.base+".log"), filepath.Join(b.w.logs, k.rel, k.base+"-*.log"),
			filepath.Join(dir, "positions", k.kind+".json"), b.o.inflight)
	}
	compression := b.o.compression
	if b.o.compressionLevel != "" {
		compression += "\n  compression_level: " + b.o.compressionLevel
	}
	if v.kafkaInflight > 0 {
		compression += fmt.Sprintf("\n  max_inflight_batches: %d", v.kafkaInflight)
	}
	aggregation := ""
	if v.maxOpenKeys > 0 {
		aggregation = fmt.Sprintf("  max_open_keys: %d\n", v.maxOpenKeys)
	}
	if v.lateness != "" {
		aggregation += fmt.Sprintf("  allowed_lateness: %s\n", v.lateness)
	}
	cfg := fmt.Sprintf(configTemplate, addr, in.String(), aggregation, compression, quoteList(b.o.brokers), t.Flows, t.L7, t.DNS, t.DeadLetter,
		filepath.Join(dir, "kafka-dead-letter.jsonl"), group, quoteList([]string{b.o.esURL}), b.o.esUser, pw)
	path := filepath.Join(dir, "flowship.yaml")
	return path, addr, os.WriteFile(path, []byte(cfg), 0o644)
}

// configTemplate is flowship's configuration for the benchmark: defaults
// everywhere except what a benchmark must set (files, topics, a short
// idle flush and linger so the last documents do not wait 30 s, and no
// Elasticsearch replicas on a single node).
const configTemplate = `cluster: bench
node: bench-node
telemetry:
  listen: %q
  log_level: warn
  log_format: text
inputs:
%saggregation:
  idle_flush: 500ms
%skafka:
  compression: %s
  brokers: %s
  topics: {flows: %q, l7: %q, dns: %q, dead_letter: %q}
  dead_letter_log: %q
topic_setup:
  replication_factor: 1
index:
  consumer:
    group_id: %q
    start_offset: first
  elasticsearch:
    urls: %s
    username: %q
    password_file: %q
    naming: {prefix: fsbench}
retention:
  mode: managed
  replicas: 0
`

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
