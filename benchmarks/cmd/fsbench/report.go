package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// runResult is one measured run of one program.
type runResult struct {
	Lines      int64         `json:"lines"` // lines in (documents for indexers)
	Wall       time.Duration `json:"wall_ns"`
	CPU        time.Duration `json:"cpu_ns"`
	PeakRSS    int64         `json:"peak_rss_bytes"`
	RecordsOut int64         `json:"records_out"`
	// FirstOut is when the first output was seen (from process start),
	// FirstCount how much output there was then; zero for programs that
	// are not polled.
	FirstOut   time.Duration `json:"first_out_ns,omitempty"`
	FirstCount int64         `json:"first_count,omitempty"`
}

// steadyPerSecond is the output rate after the first output was seen,
// without start-up (connecting, joining a consumer group).
func (r runResult) steadyPerSecond() float64 {
	if r.FirstOut == 0 || r.Wall <= r.FirstOut {
		return 0
	}
	return float64(r.RecordsOut-r.FirstCount) / (r.Wall - r.FirstOut).Seconds()
}

func (r runResult) perSecond() float64    { return float64(r.Lines) / r.Wall.Seconds() }
func (r runResult) perCPUSecond() float64 { return float64(r.Lines) / r.CPU.Seconds() }
func (r runResult) cpuPerMillion() float64 {
	return r.CPU.Seconds() * 1e6 / float64(r.Lines)
}

func (r runResult) String() string {
	return fmt.Sprintf("%d in %v = %.0f/s, CPU %v = %.0f per CPU-second, peak RSS %.0f MiB, out %d",
		r.Lines, r.Wall.Round(time.Millisecond), r.perSecond(), r.CPU, r.perCPUSecond(), float64(r.PeakRSS)/(1<<20), r.RecordsOut)
}

// fileStat is one generated log file.
type fileStat struct {
	Kind  string `json:"kind"`
	Lines int64  `json:"lines"`
	Bytes int64  `json:"bytes"`
}

func (f fileStat) String() string {
	return fmt.Sprintf("%s %d lines (%.0f B/line)", f.Kind, f.Lines, float64(f.Bytes)/float64(max(f.Lines, 1)))
}

// machine describes where and with what the benchmark ran.
type machine struct {
	CPU           string `json:"cpu"`
	Cores         int    `json:"cores"`
	MemGiB        int    `json:"mem_gib"`
	Kernel        string `json:"kernel"`
	Go            string `json:"go"`
	Flowship      string `json:"flowship"`
	Rsyslog       string `json:"rsyslog,omitempty"`
	Librdkafka    string `json:"librdkafka,omitempty"`
	Kafka         string `json:"kafka"`
	Elasticsearch string `json:"elasticsearch"`
}

// report is everything one `fsbench run` measured; it is written as JSON
// next to the Markdown so the chart and tables can be rebuilt.
type report struct {
	Started         time.Time         `json:"started"`
	Finished        time.Time         `json:"finished"`
	Command         string            `json:"command"`
	Settings        string            `json:"settings"`
	Chart           *chartDefaults    `json:"chart,omitempty"` // the chart settings of the flowship-chart runs
	Smoke           bool              `json:"smoke"`
	Machine         machine           `json:"machine"`
	LoadBefore      float64           `json:"load_before"`
	LoadPerRound    []float64         `json:"load_per_round"`
	LoadAfter       float64           `json:"load_after"`
	LoadWaitExpired bool              `json:"load_wait_expired"`
	Workloads       []*workloadResult `json:"workloads"`
	// Reduction is measured on the first workload's flow file.
	Reduction []reductionRow `json:"reduction"`
}

// Workload names: the lines Calico Enterprise's operator makes Felix write
// (labels and policy traces on, the benchmark's default) and Felix's own
// defaults (both off).
const (
	workloadOn  = "on"
	workloadOff = "off"
)

// workloadTitle describes a workload in the tables.
func workloadTitle(name string) string {
	switch name {
	case workloadOn:
		return "labels and policy traces on, as Calico Enterprise's operator sets Felix"
	case workloadOff:
		return "labels and policy traces off, Felix's own defaults"
	}
	return name
}

// workloadResult is what one workload's files gave.
type workloadResult struct {
	Name         string     `json:"name"` // workloadOn or workloadOff
	GenCommand   string     `json:"gen_command"`
	Files        []fileStat `json:"files"`
	Lines        int64      `json:"lines"`
	ExpectedDocs int64      `json:"expected_docs"`
	// ExpectedChartDocs is what the offline aggregator makes with the
	// chart's max_open_keys (more when it flushes buckets early).
	ExpectedChartDocs int64                  `json:"expected_chart_docs,omitempty"`
	Collectors        map[string][]runResult `json:"collectors"`
	Indexers          map[string][]runResult `json:"indexers,omitempty"`
	IndexDocs         int64                  `json:"index_docs,omitempty"`
}

func (r *workloadResult) add(name string, res runResult) {
	if r.Collectors == nil {
		r.Collectors = map[string][]runResult{}
	}
	r.Collectors[name] = append(r.Collectors[name], res)
}

func (r *workloadResult) addIndex(name string, res runResult) {
	if r.Indexers == nil {
		r.Indexers = map[string][]runResult{}
	}
	r.Indexers[name] = append(r.Indexers[name], res)
}

// medianOf returns the median of f over runs (the mean of the middle two
// for an even count), 0 for none.
func medianOf(runs []runResult, f func(runResult) float64) float64 {
	if len(runs) == 0 {
		return 0
	}
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// write saves the report as <results>/<date>.{md,json,png}, or prints the
// Markdown when no results directory is set.
func (b *bench) write() error {
	md := b.report.markdown()
	if b.o.results == "" {
		fmt.Fprint(b.out, "\n"+md)
		return nil
	}
	if err := os.MkdirAll(b.o.results, 0o755); err != nil {
		return err
	}
	base := filepath.Join(b.o.results, b.report.Started.Format("2006-01-02-1504"))
	if b.o.smoke {
		base += "-smoke"
	}
	js, err := json.MarshalIndent(b.report, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := renderChart(&b.report, base+".png"); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	md += fmt.Sprintf("\n![chart](%s)\n", filepath.Base(base+".png"))
	if err := os.WriteFile(base+".md", []byte(md), 0o644); err != nil {
		return err
	}
	if !b.o.smoke {
		// LATEST.md is what the README links to; it sits next to the PNG.
		if err := os.WriteFile(filepath.Join(b.o.results, "LATEST.md"), []byte(md), 0o644); err != nil {
			return err
		}
	}
	b.logf("results: %s.md, %s.png, %s.json", base, base, base)
	fmt.Fprint(b.out, "\n"+md)
	return nil
}
