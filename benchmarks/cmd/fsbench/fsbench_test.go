package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
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

func TestFloorReadCountsLinesAndLooksFieldsUp(t *testing.T) {
	lines := `{"start_time":1,"end_time":2,"action":"allow","bytes_in":10}` + "\n" +
		`{"start_time":3,"end_time":4,"action":"deny","bytes_in":200}` + "\n"
	fields := []string{"start_time", "action", "bytes_in"}
	res, err := floorRead(strings.NewReader(lines), fields)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for l := range strings.SplitSeq(strings.TrimSpace(lines), "\n") {
		for _, v := range gjson.GetMany(l, fields...) {
			want += int64(len(v.Raw))
		}
	}
	if res.Lines != 2 || res.Bytes != int64(len(lines)) || res.Checksum != want {
		t.Errorf("floorRead = %+v, want 2 lines, %d bytes, checksum %d", res, len(lines), want)
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
	b := &bench{o: options{rsyslogConf: filepath.Join("..", "..", "rsyslog", "rsyslog.conf"), brokers: []string{"k1:9092", "k2:9092"}}, logs: "/logs"}
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
	r := report{Lines: 1000, Collectors: map[string][]runResult{
		"floor":    {run(1000, time.Second, time.Second)},
		"flowship": {run(1000, time.Second, 500*time.Millisecond)},
		"rsyslog":  {run(1000, 4*time.Second, 10*time.Second)},
	}}
	md := r.markdown()
	for _, want := range []string{
		"flowship ÷ rsyslog: 4.00× lines/s, **20.00× lines per CPU-second**",
		"flowship ÷ floor: 1.00× lines/s, **2.00× lines per CPU-second**",
		"| floor | 1 | 1s | 1s |", "| rsyslog | 1 | 4s | 10s |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}
