package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMedianOf(t *testing.T) {
	runs := func(walls ...int) []runResult {
		var out []runResult
		for _, w := range walls {
			out = append(out, runResult{Lines: 1000, Wall: time.Duration(w) * time.Second})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		runs  []runResult
		wantS float64 // median lines/s
	}{
		{"none", nil, 0},
		{"one", runs(2), 500},
		{"odd count takes the middle", runs(1, 4, 2), 500},
		{"even count takes the mean of the middle two", runs(1, 2, 4, 5), (500 + 250) / 2.0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := medianOf(tc.runs, runResult.perSecond); got != tc.wantS {
				t.Errorf("median lines/s = %v, want %v", got, tc.wantS)
			}
		})
	}
}

func TestPromSum(t *testing.T) {
	const body = `# HELP flowship_es_items_total Documents by bulk result
# TYPE flowship_es_items_total counter
flowship_es_items_total{otel_scope_name="x",result="created"} 1200
flowship_es_items_total{otel_scope_name="x",result="conflict"} 34
flowship_es_items_total{otel_scope_name="x",result="retried"} 99
flowship_es_items_total_other{result="created"} 5
`
	got, err := promSum(strings.NewReader(body), "flowship_es_items_total", `result="created"`, `result="conflict"`)
	if err != nil {
		t.Fatal(err)
	}
	if got != 1234 {
		t.Errorf("promSum = %d, want 1234 (created + conflict, not retried, not another metric)", got)
	}
}

func TestSplitBulk(t *testing.T) {
	var body []byte
	for i := range 5 {
		body = append(body, []byte(`{"create":{"_id":"`+string(rune('a'+i))+`"}}`+"\n"+`{"n":1}`+"\n")...)
	}
	for _, tc := range []struct {
		name   string
		per    int
		bodies int
	}{{"exact fit", 5, 1}, {"two per request", 2, 3}, {"one per request", 1, 5}} {
		t.Run(tc.name, func(t *testing.T) {
			parts := splitBulk(body, tc.per)
			if len(parts) != tc.bodies {
				t.Fatalf("%d bodies, want %d", len(parts), tc.bodies)
			}
			if !bytes.Equal(bytes.Join(parts, nil), body) {
				t.Error("the bodies do not add up to the input")
			}
			for i, p := range parts {
				if n := bytes.Count(p, []byte{'\n'}); n%2 != 0 || n > 2*tc.per {
					t.Errorf("body %d has %d lines; want pairs, at most %d", i, n, 2*tc.per)
				}
			}
		})
	}
}

// The floor aggregates like an agent: one document per (5-minute bucket,
// level-2 key); policies are part of the key, source ports are not; a
// bucket closes once a bucket two windows later has started. Expected
// values computed by hand from the lines.
func TestFloorReadAggregatesByBucketAndKey(t *testing.T) {
	line := func(start, port int, pols string, bytesIn int) string {
		return fmt.Sprintf(`{"start_time":%d,"source_namespace":"a","source_name_aggr":"web-*","source_port":%d,`+
			`"dest_namespace":"b","dest_port":80,"proto":"tcp","action":"allow","reporter":"src",`+
			`"policies":{"all_policies":[%q],"enforced_policies":[%q]},"bytes_in":%d,"num_flows":1}`, start, port, pols, pols, bytesIn)
	}
	lines := strings.Join([]string{
		line(600, 1111, "0|t|p|allow|0", 10),  // bucket 600
		line(610, 2222, "0|t|p|allow|0", 20),  // same key: another source port only
		line(620, 1111, "0|t|q|allow|0", 30),  // other policy: other key
		line(900, 1111, "0|t|p|allow|0", 40),  // bucket 900: 600 stays open (lateness)
		line(1200, 1111, "0|t|p|allow|0", 50), // bucket 1200 closes 600
	}, "\n") + "\n"
	res, err := floorRead(strings.NewReader(lines), floorSpecs["flows"])
	if err != nil {
		t.Fatal(err)
	}
	// documents: {600,p}, {600,q}, {900,p}, {1200,p}; counters: bytes_in
	// 150 plus num_flows 5.
	want := floorResult{Lines: 5, Bytes: int64(len(lines)), Docs: 4, Checksum: 150 + 5}
	if res != want {
		t.Errorf("floorRead = %+v, want %+v", res, want)
	}
}

func TestFloorReadDNSTimesAndMaxima(t *testing.T) {
	lines := `{"start_time":"2026-12-03T09:00:02.9Z","qname":"a.b","count":2,"latency_max":7}` + "\n" +
		`{"start_time":"2026-12-03T09:04:58Z","qname":"a.b","count":3,"latency_max":5}` + "\n" +
		`{"start_time":"2026-12-03T09:05:00Z","qname":"a.b","count":1,"latency_max":1}` + "\n"
	res, err := floorRead(strings.NewReader(lines), floorSpecs["dns"])
	if err != nil {
		t.Fatal(err)
	}
	// 09:00–09:05 holds the first two (count 5, max 7), 09:05 the third (1, 1).
	if res.Lines != 3 || res.Docs != 2 || res.Checksum != 5+7+1+1 {
		t.Errorf("floorRead = %+v, want 3 lines, 2 documents, checksum 14", res)
	}
}

func TestKindOf(t *testing.T) {
	for path, want := range map[string]string{
		"/x/flowlogs/flows.log": "flows", "/x/l7logs/l7.log": "l7", "/x/dnslogs/dns-2025.log": "dns", "other.log": "flows",
	} {
		if got := kindOf(path); got != want {
			t.Errorf("kindOf(%q) = %q, want %q", path, got, want)
		}
	}
}

// The shipped rsyslog configuration has a value for every placeholder.
func TestRsyslogConfigFillsEveryPlaceholder(t *testing.T) {
	dir := t.TempDir()
	b := &bench{o: options{rsyslogConf: filepath.Join("..", "..", "rsyslog", "rsyslog.conf"), brokers: []string{"k1:9092", "k2:9092"}},
		w: &workload{logs: "/logs", res: &workloadResult{Name: workloadOn}}}
	path, err := b.rsyslogConfig(dir, "t.flows", "t.l7", "t.dns")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(conf, []byte("@")) && bytes.Contains(conf, []byte("@TOPIC")) {
		t.Errorf("placeholders left in:\n%s", conf)
	}
	for _, want := range []string{`topic="t.flows"`, `topic="t.l7"`, `topic="t.dns"`, `broker=["k1:9092", "k2:9092"]`,
		`file="/logs/flowlogs/flows.log"`, `workDirectory="` + filepath.Join(dir, "work") + `"`} {
		if !bytes.Contains(conf, []byte(want)) {
			t.Errorf("configuration lacks %s", want)
		}
	}
}

func TestMarkdownHasTheRatiosAndEveryRun(t *testing.T) {
	run := func(lines int64, wall, cpu time.Duration) runResult {
		return runResult{Lines: lines, Wall: wall, CPU: cpu, PeakRSS: 10 << 20, RecordsOut: lines / 2}
	}
	on := &workloadResult{Name: workloadOn, Lines: 1000, Collectors: map[string][]runResult{
		"floor":    {run(1000, time.Second, time.Second)},
		"flowship": {run(1000, time.Second, 500*time.Millisecond)},
		"rsyslog":  {run(1000, 4*time.Second, 10*time.Second)},
	}}
	off := &workloadResult{Name: workloadOff, Lines: 1000, Collectors: map[string][]runResult{
		"floor":    {run(1000, 2*time.Second, 2*time.Second)},
		"flowship": {run(1000, time.Second, time.Second)},
	}}
	r := report{Workloads: []*workloadResult{on, off}}
	md := r.markdown()
	for _, want := range []string{
		"flowship ÷ rsyslog: 4.00× lines/s, **20.00× lines per CPU-second**",
		"flowship ÷ floor: 1.00× lines/s, **2.00× lines per CPU-second**",
		"flowship ÷ rsyslog: - lines/s, **- lines per CPU-second**; flowship ÷ floor: 2.00× lines/s, **2.00× lines per CPU-second**",
		"| floor | 1 | 1s | 1s |", "| rsyslog | 1 | 4s | 10s |", "| floor | 1 | 2s | 2s |",
		`## Node agents, workload "on"`, `## Node agents, workload "off"`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// The targets of issue 12, from hand-picked medians: collect at 0.4× the
// floor's CPU (met), 200 MiB peak (not met), 1.46× its lines/s (the mean of
// two runs' rates: not met);
// index at 0.95× the loader's rate (met) and 2× its CPU (not met).
func TestTargetsTable(t *testing.T) {
	rr := func(lines int64, wall, cpu time.Duration, rss int64) []runResult {
		return []runResult{{Lines: lines, Wall: wall, CPU: cpu, PeakRSS: rss << 20}}
	}
	on := &workloadResult{Name: workloadOn,
		Collectors: map[string][]runResult{
			"floor":    rr(1_000_000, 10*time.Second, 10*time.Second, 20),
			"flowship": append(rr(1_000_000, 6*time.Second, 4*time.Second, 200), rr(1_000_000, 8*time.Second, 4*time.Second, 100)...),
		},
		Indexers: map[string][]runResult{
			"flowship": rr(95_000, 10*time.Second, 2*time.Second, 50),
			"bulk":     rr(100_000, 10*time.Second, time.Second, 50),
		}}
	got := targets(on)
	want := []struct {
		value float64
		met   bool
	}{{0.4, true}, {200, false}, {(1e6/6 + 1e6/8) / 2 / 1e5, false}, {0.95, true}, {2.0 / 0.95, false}}
	if len(got) != len(want) {
		t.Fatalf("%d targets, want %d", len(got), len(want))
	}
	for i, w := range want {
		if !got[i].ok || got[i].met() != w.met || got[i].value < w.value-1e-9 || got[i].value > w.value+1e-9 {
			t.Errorf("target %q: value %v met %v ok %v, want %v met %v", got[i].what, got[i].value, got[i].met(), got[i].ok, w.value, w.met)
		}
	}
	md := (&report{Workloads: []*workloadResult{on}}).markdown()
	for _, want := range []string{
		"| `flowship collect` peak RSS ≤ 128 MiB (largest of the runs) | 200 MiB | 200.00 MiB | ≤ 128.00 MiB | **not met** |",
		"| `flowship index` documents/s ≥ 0.9× the plain bulk loader's | 9,500 vs the loader's 10,000 documents/s | 0.95× | ≥ 0.90× | met |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	delete(on.Indexers, "bulk")
	if tg := targets(on); tg[3].ok || tg[4].ok {
		t.Error("index targets without a loader run count as measured")
	}
	// With runs under the chart's settings, peak RSS is judged on those
	// (the largest of them), and the unlimited peak is shown beside it.
	on.Collectors["flowship-chart"] = append(rr(1_000_000, 7*time.Second, 5*time.Second, 120), rr(1_000_000, 7*time.Second, 5*time.Second, 127)...)
	tg := targets(on)
	if !tg[1].ok || tg[1].value != 127 || !tg[1].met() || !strings.Contains(tg[1].measured, "127 MiB with the chart's settings (200 MiB with flowship's defaults") {
		t.Errorf("peak RSS target with chart runs: %+v", tg[1])
	}
	if tg[0].value != 0.4 {
		t.Errorf("the CPU target must stay on flowship's defaults: %v", tg[0].value)
	}
}

// The chart's collector settings are read from values.yaml: memory
// quantities in Kubernetes' units, and the repository's own chart.
func TestChartDefaults(t *testing.T) {
	for s, want := range map[string]int64{"256Mi": 256 << 20, "1Gi": 1 << 30, "512Ki": 512 << 10, "200M": 200e6, "134217728": 134217728} {
		if got, err := parseQuantity(s); err != nil || got != want {
			t.Errorf("parseQuantity(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "Mi", "-5Mi", "1.5Gi", "12Qi"} {
		if _, err := parseQuantity(bad); err == nil {
			t.Errorf("parseQuantity(%q) accepted", bad)
		}
	}
	dir := t.TempDir()
	path := dir + "/values.yaml"
	if err := os.WriteFile(path, []byte("collector:\n  aggregation:\n    maxOpenKeys: 123\n    allowedLateness: 0s\n  kafkaMaxInflightBatches: 4\n  resources:\n    limits:\n      memory: 192Mi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := readChartDefaults(path)
	if err != nil || c.MemoryLimit != 192<<20 || c.MaxOpenKeys != 123 || c.Lateness != "0s" || c.KafkaInflight != 4 {
		t.Fatalf("readChartDefaults = %+v, %v", c, err)
	}
	v := chartVariant(c)
	if v.name != "flowship-chart" || len(v.env) != 1 || v.env[0] != "FLOWSHIP_MEMORY_LIMIT=201326592" || v.maxOpenKeys != 123 || v.lateness != "0s" || v.kafkaInflight != 4 {
		t.Errorf("chart variant %+v", v)
	}
	if err := os.WriteFile(path, []byte("collector:\n  aggregation:\n    maxOpenKeys: 123\n    allowedLateness: soon\n  kafkaMaxInflightBatches: 4\n  resources:\n    limits:\n      memory: 192Mi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readChartDefaults(path); err == nil || !strings.Contains(err.Error(), "allowedLateness") {
		t.Errorf("an allowedLateness that is no duration: %v", err)
	}
	if err := os.WriteFile(path, []byte("collector: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readChartDefaults(path); err == nil {
		t.Error("values without the collector's memory settings accepted")
	}
	if _, err := readChartDefaults("../../../deploy/helm/flowship/values.yaml"); err != nil {
		t.Errorf("the repository's chart: %v", err)
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}

// fsbench compress reads a document file and reports every codec, each
// compressing repetitive JSON to a fraction of its size; bad use is an
// error, not a crash.
func TestCompress(t *testing.T) {
	path := t.TempDir() + "/docs.ndjson"
	doc := `{"source_namespace":"shop","source_name_aggr":"web-*","dest_port":8080,"bytes_in":123,"policies":{"all_policies":["0|default|shop/default.web|allow|0"]}}` + "\n"
	if err := os.WriteFile(path, []byte(strings.Repeat(doc, 5000)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := runCompress([]string{"--lines", "10000", "--batch", "65536", path}, &out); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"copy", "zstd-fastest", "zstd-default", "lz4"} {
		var cpu, ratio float64
		found := false
		for line := range strings.SplitSeq(out.String(), "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == name {
				if _, err := fmt.Sscanf(line, name+" %f CPU-s per 1M input lines, ratio %f", &cpu, &ratio); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				found = true
			}
		}
		if !found || cpu < 0 || (name != "copy" && ratio < 5) || (name == "copy" && ratio != 1) {
			t.Errorf("%s: found %v, %.2f CPU-s, ratio %.2f in\n%s", name, found, cpu, ratio, out.String())
		}
	}
	for _, args := range [][]string{{}, {path, path}, {"--batch", "0", path}, {t.TempDir() + "/missing"}} {
		if err := runCompress(args, io.Discard); err == nil {
			t.Errorf("runCompress(%q) accepted", args)
		}
	}
}
