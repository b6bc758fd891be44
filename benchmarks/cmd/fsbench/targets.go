package main

import (
	"fmt"
	"slices"
	"strings"
)

// target is one goal of the benchmark issue (issue 12), checked on the
// labels-and-policies workload of the same run.
type target struct {
	what     string
	measured string  // the numbers behind value
	value    float64 // what is compared with limit
	limit    float64
	atMost   bool // met when value <= limit (else when value >= limit)
	unit     string
	ok       bool // the inputs were measured in this run
}

func (t target) met() bool {
	if t.atMost {
		return t.value <= t.limit
	}
	return t.value >= t.limit
}

// targets computes the targets from the medians of wl's runs;
// a target whose programs did not run is returned with ok false.
func targets(wl *workloadResult) []target {
	col, idx := wl.Collectors, wl.Indexers
	fs, fl := col["flowship"], col["floor"]
	ix, bl := idx["flowship"], idx["bulk"]
	cpu := func(rs []runResult) float64 { return medianOf(rs, runResult.cpuPerMillion) }
	rate := func(rs []runResult) float64 { return medianOf(rs, runResult.perSecond) }
	peakOf := func(rs []runResult) float64 {
		var peak float64
		for _, r := range rs {
			peak = max(peak, float64(r.PeakRSS)/(1<<20))
		}
		return peak
	}
	// Peak RSS is judged as the DaemonSet runs the collector (the chart's
	// memory limit, open keys and in-flight batches) when that was
	// measured; flowship's defaults set no memory limit.
	rss, rssOK := peakOf(fs), len(fs) > 0
	rssText := fmt.Sprintf("%.0f MiB", rss)
	if ch := col["flowship-chart"]; len(ch) > 0 {
		rss, rssOK = peakOf(ch), true
		rssText = fmt.Sprintf("%.0f MiB with the chart's settings (%.0f MiB with flowship's defaults, no memory limit)", rss, peakOf(fs))
	}
	both := func(a, b []runResult) bool { return len(a) > 0 && len(b) > 0 }
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	return []target{
		{what: "`flowship collect` CPU-seconds per 1M lines ≤ 0.5× the floor's", atMost: true, limit: 0.5, unit: "×",
			value: ratio(cpu(fs), cpu(fl)), ok: both(fs, fl),
			measured: fmt.Sprintf("%.2f vs the floor's %.2f CPU-s", cpu(fs), cpu(fl))},
		{what: "`flowship collect` peak RSS ≤ 128 MiB (largest of the runs)", atMost: true, limit: 128, unit: " MiB",
			value: rss, ok: rssOK, measured: rssText},
		{what: "`flowship collect` lines/s ≥ 2× the floor's", limit: 2, unit: "×",
			value: ratio(rate(fs), rate(fl)), ok: both(fs, fl),
			measured: fmt.Sprintf("%s vs the floor's %s lines/s", num(rate(fs)), num(rate(fl)))},
		{what: "`flowship index` documents/s ≥ 0.9× the plain bulk loader's", limit: 0.9, unit: "×",
			value: ratio(rate(ix), rate(bl)), ok: both(ix, bl),
			measured: fmt.Sprintf("%s vs the loader's %s documents/s", num(rate(ix)), num(rate(bl)))},
		{what: "`flowship index` CPU per document ≤ 1.5× the plain bulk loader's", atMost: true, limit: 1.5, unit: "×",
			value: ratio(cpu(ix), cpu(bl)), ok: both(ix, bl),
			measured: fmt.Sprintf("%.2f vs the loader's %.2f CPU-s per 1M documents", cpu(ix), cpu(bl))},
	}
}

// writeTargets writes the targets table for the labels-and-policies
// workload (the targets are stated on it).
func (r *report) writeTargets(w *strings.Builder) {
	i := slices.IndexFunc(r.Workloads, func(wl *workloadResult) bool { return wl.Name == workloadOn })
	if i < 0 {
		w.WriteString("## Targets\n\nNot checked: the targets are stated on the labels-and-policies workload (`--workloads on`), which this run skipped.\n\n")
		return
	}
	fmt.Fprintf(w, "## Targets (issue 12), workload %q, medians of this run\n\n", workloadOn)
	w.WriteString("| target | measured | value | required | result |\n|---|---|---:|---:|---|\n")
	for _, t := range targets(r.Workloads[i]) {
		if !t.ok {
			fmt.Fprintf(w, "| %s | not measured in this run | - | - | - |\n", t.what)
			continue
		}
		cmp, res := "≥", "**not met**"
		if t.atMost {
			cmp = "≤"
		}
		if t.met() {
			res = "met"
		}
		fmt.Fprintf(w, "| %s | %s | %.2f%s | %s %.2f%s | %s |\n", t.what, t.measured, t.value, t.unit, cmp, t.limit, t.unit, res)
	}
	w.WriteString("\n")
}
