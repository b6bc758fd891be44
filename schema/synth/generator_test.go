package synth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
)

func TestSameSeedSameBytes(t *testing.T) {
	run := func(seed uint64) [32]byte {
		cfg := DefaultConfig()
		cfg.Seed, cfg.Jitter, cfg.Windows = seed, true, 3
		var b bytes.Buffer
		if _, err := New(cfg).Stream(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b.Bytes())
	}
	if a, b := run(42), run(42); a != b {
		t.Fatal("same seed gave different output")
	}
	if run(42) == run(43) {
		t.Fatal("different seeds gave the same output")
	}
}

func TestKindsDoNotDisturbEachOther(t *testing.T) {
	var all, only bytes.Buffer
	g1, g2 := New(DefaultConfig()), New(DefaultConfig())
	for range 2 {
		w := g1.Next()
		if len(w.L7) == 0 || len(w.DNS) == 0 {
			t.Fatal("no L7 or DNS lines generated alongside")
		}
		for _, l := range w.Flows {
			all.Write(l)
		}
	}
	if _, err := g2.WriteFlows(&only, 2*DefaultConfig().FlowsPerWindow); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(only.Bytes(), all.Bytes()) {
		t.Fatal("flows differ when L7 and DNS lines are generated too")
	}
}

func TestWriteFlowsWritesExactlyN(t *testing.T) {
	cfg := DefaultConfig()
	cfg.FlowsPerWindow = 100
	var b bytes.Buffer
	n, err := New(cfg).WriteFlows(&b, 250) // spans three windows
	if err != nil || n != int64(b.Len()) {
		t.Fatalf("n = %d, len %d, err %v", n, b.Len(), err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 250 {
		t.Fatalf("%d lines, want 250", len(lines))
	}
	var first, last struct {
		StartTime int64 `json:"start_time"`
	}
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[249]), &last)
	if last.StartTime-first.StartTime != 600 {
		t.Fatalf("windows span %d s, want 600 (three 300 s windows)", last.StartTime-first.StartTime)
	}
	if avg := b.Len() / 250; avg < 800 || avg > 2000 {
		t.Fatalf("average flow line is %d bytes, want about 1KB", avg)
	}
}

func TestTopologyNames(t *testing.T) {
	g := New(DefaultConfig())
	pats := map[int]*regexp.Regexp{
		kindDeployment:  regexp.MustCompile(`^([a-z0-9-]+)-([bcdfghjklmnpqrstvwxz2456789]{9,10})-[bcdfghjklmnpqrstvwxz2456789]{5}$`),
		kindStatefulSet: regexp.MustCompile(`^[a-z0-9-]+-\d+$`),
		kindDaemonSet:   regexp.MustCompile(`^[a-z0-9-]+-[bcdfghjklmnpqrstvwxz2456789]{5}$`),
		kindJob:         regexp.MustCompile(`^[a-z0-9-]+-\d{8}-[bcdfghjklmnpqrstvwxz2456789]{5}$`),
	}
	seen := map[int]int{}
	ns := map[string]bool{}
	for _, w := range g.topo.workloads {
		seen[w.kind]++
		ns[w.ns] = true
		for _, p := range w.pods {
			if !pats[w.kind].MatchString(p.name) || !strings.HasPrefix(p.name, strings.TrimSuffix(p.aggr, "*")) {
				t.Fatalf("kind %d pod %q with name_aggr %q", w.kind, p.name, p.aggr)
			}
		}
		if w.kind == kindDaemonSet && len(w.pods) != g.cfg.Nodes {
			t.Fatalf("DaemonSet %s has %d pods on %d nodes", w.name, len(w.pods), g.cfg.Nodes)
		}
	}
	if len(g.topo.workloads) != 200 || len(ns) < 15 || seen[kindStatefulSet] == 0 || seen[kindDaemonSet] == 0 || seen[kindJob] == 0 {
		t.Fatalf("%d workloads in %d namespaces, kinds %v", len(g.topo.workloads), len(ns), seen)
	}
}

func TestDenyRatio(t *testing.T) {
	for _, ratio := range []float64{0, 0.1, 0.5} {
		cfg := DefaultConfig()
		cfg.DenyRatio = ratio
		denied := 0
		lines := New(cfg).Next(pipeline.KindFlow).Flows
		for _, l := range lines {
			if bytes.Contains(l, []byte(`"action":"deny"`)) {
				denied++
			}
		}
		got := float64(denied) / float64(len(lines))
		if got < ratio*0.4 || got > ratio*1.8+0.01 {
			t.Errorf("deny ratio %v: %.3f of lines denied", ratio, got)
		}
	}
}

func TestRunWritesFelixFilesWithRotation(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Windows, cfg.RotateSize = 4, 256<<10
	st, err := New(cfg).Run(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	cfg2 := cfg
	if _, err := New(cfg2).Stream(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	for _, k := range pipeline.Kinds {
		f := kindFiles[k]
		rotated, _ := filepath.Glob(filepath.Join(dir, f[0], f[1]+"-*.log"))
		if len(rotated) != st.Rotations[k] {
			t.Fatalf("%s: %d rotated files, %d rotations", k, len(rotated), st.Rotations[k])
		}
		for _, r := range rotated {
			if !regexp.MustCompile(`^` + f[1] + `-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log$`).MatchString(filepath.Base(r)) {
				t.Fatalf("rotated name %s", r)
			}
		}
		var all []byte
		for _, p := range append(rotated, filepath.Join(dir, f[0], f[1]+".log")) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) > 0 && data[len(data)-1] != '\n' {
				t.Fatalf("%s does not end on a line boundary", p)
			}
			if int64(len(data)) > int64(cfg.RotateSize) {
				t.Fatalf("%s is %d bytes, over rotate_size", p, len(data))
			}
			all = append(all, data...)
		}
		if n := int64(bytes.Count(all, []byte("\n"))); n != st.Lines[k] {
			t.Fatalf("%s: %d lines on disk, stats say %d", k, n, st.Lines[k])
		}
	}
	if st.Rotations[pipeline.KindFlow] < 2 {
		t.Fatalf("flows rotated %d times; the test wants rotation", st.Rotations[pipeline.KindFlow])
	}
}

func TestRunSplitChunksAndMaxBackups(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Windows, cfg.RotateSize, cfg.SplitChunks, cfg.MaxBackups = 3, 100<<10, true, 2
	cfg.Kinds = []pipeline.Kind{pipeline.KindFlow}
	st, err := New(cfg).Run(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := filepath.Glob(filepath.Join(dir, "flowlogs", "flows-*.log"))
	if st.Rotations[pipeline.KindFlow] <= 2 || len(rotated) != 2 {
		t.Fatalf("%d rotations, %d rotated files kept; want > 2 and 2", st.Rotations[pipeline.KindFlow], len(rotated))
	}
	if _, err := os.Stat(filepath.Join(dir, "l7logs")); err == nil {
		t.Fatal("l7 files written though only flows were asked for")
	}
	for _, r := range rotated {
		if fi, _ := os.Stat(r); fi.Size() != 64<<10 {
			t.Fatalf("%s is %d bytes; with split chunks files hold whole 64KiB chunks", r, fi.Size())
		}
	}
}

func TestMaxLinesAndRate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Windows, cfg.MaxLines, cfg.Rate = 0, 300, 3000
	var b bytes.Buffer
	start := time.Now()
	st, err := New(cfg).Stream(context.Background(), &b)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range pipeline.Kinds {
		if st.Lines[k] != 300 {
			t.Fatalf("%s: %d lines, want 300", k, st.Lines[k])
		}
	}
	if got := bytes.Count(b.Bytes(), []byte("\n")); got != 900 {
		t.Fatalf("%d lines written, want 900", got)
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Fatalf("900 lines at 3000/s took %v, want ≥ 0.25s", el)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Windows = 0
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	st, err := New(cfg).Run(ctx, t.TempDir())
	if err == nil || st.Windows == 0 {
		t.Fatalf("err %v after %d windows; want the context error after some windows", err, st.Windows)
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*Config)
		key  string
	}{
		{"namespaces", func(c *Config) { c.Namespaces = 0 }, "synth.namespaces"},
		{"workloads", func(c *Config) { c.Workloads = 0 }, "synth.workloads"},
		{"nodes", func(c *Config) { c.Nodes = 300 }, "synth.nodes"},
		{"level", func(c *Config) { c.Level = 4 }, "synth.level"},
		{"deny_ratio", func(c *Config) { c.DenyRatio = 1.5 }, "synth.deny_ratio"},
		{"window", func(c *Config) { c.Window = 0 }, "synth.window"},
		{"start", func(c *Config) { c.Start = time.Time{} }, "synth.start"},
		{"rotate_size", func(c *Config) { c.RotateSize = 10 }, "synth.rotate_size"},
		{"rate", func(c *Config) { c.Rate = -1 }, "synth.rate"},
		{"kinds", func(c *Config) { c.Kinds = []pipeline.Kind{"waf"} }, "synth.kinds"},
		{"max_lines", func(c *Config) { c.MaxLines = -1 }, "synth.max_lines"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.key+":") {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.key)
			}
		})
	}
}

func BenchmarkNextFlows(b *testing.B) {
	g := New(DefaultConfig())
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n += len(g.Next(pipeline.KindFlow).Flows)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}
