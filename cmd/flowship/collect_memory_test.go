package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.yaml.in/yaml/v3"

	"github.com/flowship/flowship/schema/synth"
)

// TestCollectMemoryBound is the collector's memory regression test (issue
// 12, item 4): a 200k-line backlog (100k with -race) of labels-and-policies flow lines (what
// Calico Enterprise writes, ~1.7 KB a line) is read as fast as the
// collector can, into an in-process Kafka, with aggregation.max_open_keys
// and the Kafka writer's in-flight limit set, and the Go heap must stay
// under the bound docs/operations.md (sizing) promises for those settings.
//
// The live heap is read with runtime/metrics (/gc/heap/live:bytes, the
// heap marked live by the last collection, which is what configuration
// bounds: garbage above it is the GC's business, GOGC and GOMEMLIMIT). It
// is sampled while the backlog is read and once more after a forced
// collection at the end, when everything is delivered. The bound is
// memBoundBase + aggregation.max_open_keys × memBoundPerKey +
// kafka.max_inflight_batches × aggregation.max_batch_records ×
// memBoundPerDoc, the formula of docs/operations.md (sizing). The
// in-process broker keeps every record it receives in this process's heap
// (compressed, a few MiB here), inside memBoundBase.
//
// A second row runs the Helm chart's collector settings, read from its
// values.yaml (max_open_keys, allowed_lateness, in-flight batches,
// levels), against the soft memory limit the chart gives the runtime.
func TestCollectMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 200k-line backlog")
	}
	const (
		maxOpenKeys   = 20000
		kafkaInflight = 4
	)
	chart := readChartCollector(t)
	for _, tc := range []struct {
		name     string
		settings memSettings
		// bound is the most live heap allowed, and what it stands for.
		bound uint64
		what  string
	}{
		{"documented bound", memSettings{maxOpenKeys: maxOpenKeys, kafkaInflight: kafkaInflight, lateness: 5 * time.Minute, levels: [2]int{2, 2}},
			uint64(memBoundBase + maxOpenKeys*memBoundPerKey + kafkaInflight*aggregatorMaxBatchRecords*memBoundPerDoc),
			"the documented bound (docs/operations.md, sizing)"},
		// The Helm chart's collector settings keep the live heap under the
		// soft limit the chart gives the runtime (memoryLimitShare of its
		// memory limit): above it the GC would run almost continuously,
		// and the peak RSS target (≤ 128 MiB) would be lost.
		{"helm chart", chart.settings, uint64(float64(chart.memoryLimit) * memoryLimitShare),
			"the chart's soft memory limit (" + strconv.FormatFloat(memoryLimitShare*100, 'f', 0, 64) + "% of limits.memory)"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkCollectMemory(t, tc.settings, tc.bound, tc.what) })
	}
}

// memSettings are the collector settings that bound its memory.
type memSettings struct {
	maxOpenKeys, kafkaInflight int
	lateness                   time.Duration
	levels                     [2]int // allowed, denied
}

// aggregatorMaxBatchRecords is aggregation.max_batch_records' default.
var aggregatorMaxBatchRecords = DefaultConfig().Aggregation.MaxBatchRecords

type chartCollector struct {
	settings    memSettings
	memoryLimit int64
}

// readChartCollector reads the collector's memory settings from the Helm
// chart's values.yaml, so the test follows the chart.
func readChartCollector(t *testing.T) chartCollector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "helm", "flowship", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Collector struct {
			Aggregation struct {
				Levels          struct{ Allowed, Denied int } `yaml:"levels"`
				MaxOpenKeys     int                           `yaml:"maxOpenKeys"`
				AllowedLateness time.Duration                 `yaml:"allowedLateness"`
			} `yaml:"aggregation"`
			KafkaMaxInflightBatches int `yaml:"kafkaMaxInflightBatches"`
			Resources               struct {
				Limits struct{ Memory string } `yaml:"limits"`
			} `yaml:"resources"`
		} `yaml:"collector"`
	}
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	c := v.Collector
	mem, ok := strings.CutSuffix(c.Resources.Limits.Memory, "Mi")
	mib, err := strconv.ParseInt(mem, 10, 64)
	if !ok || err != nil || c.Aggregation.MaxOpenKeys < 1 || c.KafkaMaxInflightBatches < 1 {
		t.Fatalf("values.yaml: collector limits.memory %q (want NNNMi), maxOpenKeys %d, kafkaMaxInflightBatches %d",
			c.Resources.Limits.Memory, c.Aggregation.MaxOpenKeys, c.KafkaMaxInflightBatches)
	}
	return chartCollector{memoryLimit: mib << 20, settings: memSettings{maxOpenKeys: c.Aggregation.MaxOpenKeys,
		kafkaInflight: c.KafkaMaxInflightBatches, lateness: c.Aggregation.AllowedLateness,
		levels: [2]int{c.Aggregation.Levels.Allowed, c.Aggregation.Levels.Denied}}}
}

// checkCollectMemory drains the backlog through collect with settings s
// and fails if the peak live heap goes over bound.
func checkCollectMemory(t *testing.T, s memSettings, bound uint64, what string) {
	const flowsPerWindow = 50000 // ~19k keys a window at level 2
	// 200k lines; 100k under the race detector (make test runs it both
	// ways: with -race in the unit step, alone without it), where they
	// would take two minutes: two windows still fill max_open_keys and
	// flush a full bucket while the next one opens.
	windows := 4
	if raceDetector {
		windows = 2
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "flowship.flows", "flowship.l7", "flowship.dns"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	dir := t.TempDir()
	g := synth.DefaultConfig()
	g.Windows, g.FlowsPerWindow, g.L7PerWindow, g.DNSPerWindow = windows, flowsPerWindow, 0, 0
	g.Start = time.Now().UTC().Truncate(g.Window).Add(-time.Duration(windows+1) * g.Window)
	g.RotateSize = 1 << 40
	if !g.IncludeLabels || !g.IncludePolicies {
		t.Fatal("the workload must have labels and policies on")
	}
	if _, err := synth.New(g).Run(context.Background(), filepath.Join(dir, "logs")); err != nil {
		t.Fatal(err)
	}

	cfg := DefaultConfig()
	cfg.Cluster, cfg.Node = "test", "node-a"
	cfg.Telemetry.Listen = freeAddr(t)
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Kafka.DeadLetterLog = filepath.Join(dir, "kdl.jsonl")
	cfg.Kafka.MaxInflightBatches = s.kafkaInflight
	cfg.Aggregation.IdleFlush = 200 * time.Millisecond
	cfg.Aggregation.MaxOpenKeys = s.maxOpenKeys
	cfg.Aggregation.AllowedLateness = s.lateness
	cfg.Aggregation.Levels.Allowed, cfg.Aggregation.Levels.Denied = s.levels[0], s.levels[1]
	cfg.Inputs.L7.Enabled, cfg.Inputs.DNS.Enabled = false, false
	in := &cfg.Inputs.Flows
	in.Paths = []string{filepath.Join(dir, "logs", "flowlogs", "flows.log")}
	in.PositionsFile = filepath.Join(dir, "flows.positions.json")
	in.Linger = 50 * time.Millisecond
	if err := cfg.Validate(sectionsFor["collect"]...); err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- collect(ctx, cfg, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("collect: %v", err)
		}
	}()

	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	read := func() {
		metrics.Read(sample)
		// FLOWSHIP_TEST_HEAP_PROFILE=FILE writes a heap profile at each
		// new peak (8 MiB apart), to see what a regression holds.
		if v := sample[0].Value.Uint64(); v > peak+8<<20 && os.Getenv("FLOWSHIP_TEST_HEAP_PROFILE") != "" {
			f, _ := os.Create(os.Getenv("FLOWSHIP_TEST_HEAP_PROFILE"))
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
			peak = v
		}
		peak = max(peak, sample[0].Value.Uint64())
	}
	base := "http://" + cfg.Telemetry.Listen
	deadline := time.Now().Add(2 * time.Minute)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	lastPoll := time.Time{}
	for caughtUp := false; !caughtUp; {
		<-tick.C
		read()
		if time.Since(lastPoll) < 100*time.Millisecond {
			continue
		}
		lastPoll = time.Now()
		_, body := httpGet(base + "/metrics")
		caughtUp = strings.Contains(body, `flowship_filetail_checkpoint_lag_bytes{`) && lagZero(body) &&
			liveMetricSum(body, `flowship_aggregator_lines_total{`) >= int64(windows*flowsPerWindow) &&
			liveMetricSum(body, `flowship_aggregator_open_keys{`) == 0
		if time.Now().After(deadline) {
			t.Fatalf("the backlog was not delivered within 2 minutes:\n%s", grep(body, "flowship_"))
		}
	}
	runtime.GC()
	read()
	t.Logf("peak live heap %.1f MiB, bound %.1f MiB (max_open_keys %d, allowed_lateness %s, kafka.max_inflight_batches %d)",
		float64(peak)/(1<<20), float64(bound)/(1<<20), s.maxOpenKeys, s.lateness, s.kafkaInflight)
	if peak > bound {
		t.Errorf("peak live heap %d bytes is over %s, %d bytes", peak, what, bound)
	}
	if peak == 0 {
		t.Error("no heap sample was read")
	}
}

// The documented heap bound of flowship collect (docs/operations.md,
// sizing): a base for the runtime, telemetry, the tailers' read buffers
// and the batch being encoded; a cost per open aggregation key (the
// entry's document fields and key, label and policy lists and names
// shared through the part's intern table: about 1.8 KiB with labels and
// policies on, aggregator's TestHeapPerOpenKey); and the documents of the
// Kafka writer's in-flight batches (about 2 KiB each, held as records and
// once more inside the producer's request). Measured on this test: peak
// 86-101 MiB against a bound of 118 MiB (106-111 MiB before interning,
// when the bound was 5 KiB a key).
const (
	memBoundBase   = 24 << 20
	memBoundPerKey = 4 << 10
	memBoundPerDoc = 4 << 10
)

// liveMetricSum adds the values of every series whose line starts with
// prefix in a Prometheus text exposition.
func liveMetricSum(body, prefix string) int64 {
	var n int64
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		if i := strings.LastIndexByte(l, ' '); i >= 0 {
			if v, err := strconv.ParseFloat(l[i+1:], 64); err == nil {
				n += int64(v)
			}
		}
	}
	return n
}
