package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema/synth"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(url string) (int, string) {
	res, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestCollectTelemetry runs the collector in-process against the
// in-process Kafka-protocol broker and checks the operational surface:
// /healthz, /readyz, and the metrics issue #3 asks for, with values.
func TestCollectTelemetry(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "flowship.flows", "flowship.l7", "flowship.dns"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	dir := t.TempDir()
	g := synth.DefaultConfig()
	g.Windows, g.FlowsPerWindow, g.L7PerWindow, g.DNSPerWindow = 2, 200, 20, 20
	// Recent windows: lines on a day past retention are refused (max_age).
	g.Start = time.Now().UTC().Truncate(g.Window).Add(-3 * g.Window)
	if _, err := synth.New(g).Run(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	// One bad line among the good ones.
	f, err := os.OpenFile(filepath.Join(dir, "flowlogs", "flows.log"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{\"start_time\": truncated\n")
	f.Close()

	cfg := DefaultConfig()
	cfg.Cluster, cfg.Node = "test", "node-a"
	cfg.Telemetry.Listen = freeAddr(t)
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Kafka.DeadLetterLog = filepath.Join(dir, "kdl.jsonl")
	cfg.Aggregation.IdleFlush = time.Second
	for _, in := range []*Input{&cfg.Inputs.Flows, &cfg.Inputs.L7, &cfg.Inputs.DNS} {
		base := map[pipeline.Kind]string{pipeline.KindFlow: "flowlogs/flows", pipeline.KindL7: "l7logs/l7", pipeline.KindDNS: "dnslogs/dns"}[in.Kind]
		in.Paths = []string{filepath.Join(dir, base+".log")}
		in.PositionsFile = filepath.Join(dir, string(in.Kind)+".positions.json")
		in.Linger = 100 * time.Millisecond
	}
	if err := cfg.Validate(sectionsFor["collect"]...); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- collect(ctx, cfg, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("collect: %v", err)
		}
	}()

	base := "http://" + cfg.Telemetry.Listen
	want := []string{
		`flowship_filetail_lines_read_total`, `flowship_filetail_bytes_read_total`, `flowship_filetail_checkpoint_lag_bytes`,
		`flowship_aggregator_bad_lines_total`, `flowship_aggregator_lines_total{kind="flows",result="aggregated"}`,
		`flowship_aggregator_open_buckets`, `flowship_aggregator_open_keys`,
		`flowship_kafka_records_written_total`, `flowship_kafka_write_latency_seconds`,
	}
	deadline := time.Now().Add(30 * time.Second)
	var body string
	for {
		_, body = httpGet(base + "/metrics")
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = w
				break
			}
		}
		if missing == "" && strings.Contains(body, `flowship_filetail_checkpoint_lag_bytes{`) && lagZero(body) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed %q with all checkpoints caught up:\n%s", missing, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(body, `flowship_aggregator_bad_lines_total{kind="flows"`) {
		t.Errorf("the bad line is not counted:\n%s", grep(body, "bad_lines"))
	}
	if code, _ := httpGet(base + "/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, msg := httpGet(base + "/readyz"); code != 200 {
		t.Errorf("/readyz = %d %s", code, msg)
	}
}

// lagZero reports whether every checkpoint lag gauge is 0.
func lagZero(metrics string) bool {
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, "flowship_filetail_checkpoint_lag_bytes{") && !strings.HasSuffix(l, " 0") {
			return false
		}
	}
	return true
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
