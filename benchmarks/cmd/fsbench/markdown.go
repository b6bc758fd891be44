package main

import (
	"fmt"
	"strings"
	"time"
)

// collectorRows names the collector measurements in table order.
var collectorRows = []struct{ key, label string }{
	{"floor", "parse floor: bufio + one gjson `ForEach` pass per line, level-2 key in a string, counters in a map"},
	{"flowship", "`flowship collect` (tail, parse, filter, aggregate, produce)"},
	{"flowship-chart", "`flowship collect` with the Helm chart's collector settings (memory limit, open keys, in-flight batches: see Settings)"},
	{"rsyslog", "rsyslog imfile + mmjsonparse + omkafka"},
}

var indexerRows = []struct{ key, label string }{
	{"flowship", "`flowship index` (consume, bulk, commit)"},
	{"bulk", "plain bulk loader (pre-built bodies, 1000 docs, 2 workers)"},
}

func (r *report) markdown() string {
	var w strings.Builder
	title := "flowship benchmark"
	if r.Smoke {
		title += " (smoke run: too small to quote)"
	}
	fmt.Fprintf(&w, "# %s, %s\n\n", title, r.Started.Format("2006-01-02 15:04 MST"))
	r.writeSetup(&w)
	r.writeTargets(&w)
	for _, wl := range r.Workloads {
		wl.writeCollectors(&w)
	}
	for _, wl := range r.Workloads {
		wl.writeIndexers(&w)
	}
	r.writeReduction(&w)
	return w.String()
}

func (r *report) writeSetup(w *strings.Builder) {
	m := r.Machine
	fmt.Fprintf(w, "- Machine: %s, %d cores, %d GiB, %s\n", m.CPU, m.Cores, m.MemGiB, m.Kernel)
	fmt.Fprintf(w, "- Versions: %s, %s; Kafka %s; Elasticsearch %s", m.Flowship, m.Go, m.Kafka, m.Elasticsearch)
	if m.Rsyslog != "" {
		fmt.Fprintf(w, "; %s with librdkafka %s", m.Rsyslog, m.Librdkafka)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- Command: `%s`\n", r.Command)
	fmt.Fprintf(w, "- Settings: %s\n", r.Settings)
	for _, wl := range r.Workloads {
		fmt.Fprintf(w, "- Workload %q, %s: `%s`\n", wl.Name, workloadTitle(wl.Name), wl.GenCommand)
		var parts []string
		for _, f := range wl.Files {
			parts = append(parts, f.String())
		}
		fmt.Fprintf(w, "  - %s; %d lines in all; the offline aggregator makes %d documents\n", strings.Join(parts, ", "), wl.Lines, wl.ExpectedDocs)
	}
	loads := make([]string, len(r.LoadPerRound))
	for i, l := range r.LoadPerRound {
		loads[i] = fmt.Sprintf("%.2f", l)
	}
	fmt.Fprintf(w, "- 1-minute load average: %.2f before measuring, [%s] at the start of each round, %.2f at the end",
		r.LoadBefore, strings.Join(loads, ", "), r.LoadAfter)
	if r.LoadWaitExpired {
		w.WriteString(" (the machine did not get quiet in time; wall-clock numbers are pessimistic)")
	}
	fmt.Fprintf(w, "\n- Took %v. CPU time is user + system of the process (all threads) from /proc, read when the last record reached Kafka (or Elasticsearch); other load stretches wall time more than CPU time.\n\n",
		r.Finished.Sub(r.Started).Round(time.Second))
}

func (wl *workloadResult) writeCollectors(w *strings.Builder) {
	if len(wl.Collectors) == 0 {
		return
	}
	n := len(wl.Collectors["flowship"])
	fmt.Fprintf(w, "## Node agents, workload %q, %s: the same files into the same Kafka (median of %d runs)\n\n", wl.Name, workloadTitle(wl.Name), n)
	w.WriteString("| program | lines/s | lines per CPU-second | CPU-s per 1M lines | peak RSS | records out |\n|---|---:|---:|---:|---:|---:|\n")
	for _, row := range collectorRows {
		runs := wl.Collectors[row.key]
		if len(runs) == 0 {
			continue
		}
		out := fmt.Sprintf("%.0f", medianOf(runs, func(x runResult) float64 { return float64(x.RecordsOut) }))
		if row.key == "floor" {
			out = fmt.Sprintf("(%.0f buckets)", medianOf(runs, func(x runResult) float64 { return float64(x.RecordsOut) }))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f | %.0f MiB | %s |\n", row.label,
			num(medianOf(runs, runResult.perSecond)), num(medianOf(runs, runResult.perCPUSecond)),
			medianOf(runs, runResult.cpuPerMillion), medianOf(runs, func(x runResult) float64 { return float64(x.PeakRSS) / (1 << 20) }), out)
	}
	fs := wl.Collectors["flowship"]
	ratio := func(peer string, f func(runResult) float64) string {
		p := wl.Collectors[peer]
		if len(fs) == 0 || len(p) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f×", medianOf(fs, f)/medianOf(p, f))
	}
	fmt.Fprintf(w, "\nRatios of medians: flowship ÷ rsyslog: %s lines/s, **%s lines per CPU-second**; flowship ÷ floor: %s lines/s, **%s lines per CPU-second**.\n",
		ratio("rsyslog", runResult.perSecond), ratio("rsyslog", runResult.perCPUSecond),
		ratio("floor", runResult.perSecond), ratio("floor", runResult.perCPUSecond))
	if wl.ExpectedChartDocs > 0 {
		fmt.Fprintf(w, "With the chart's settings the offline aggregator expects %d documents (its max_open_keys may flush buckets early).\n", wl.ExpectedChartDocs)
	}
	fmt.Fprintf(w, "flowship's records out are aggregated documents (the offline aggregator expects %d); rsyslog sends one record per line; the floor sends nothing (it counts the buckets it closes).\n\n", wl.ExpectedDocs)
	writeRuns(w, wl.Collectors, collectorRows)
}

// writeRuns lists every run, so the medians can be checked.
func writeRuns(w *strings.Builder, m map[string][]runResult, rows []struct{ key, label string }) {
	w.WriteString("<details><summary>every run</summary>\n\n| program | run | wall | CPU | peak RSS | out |\n|---|---:|---:|---:|---:|---:|\n")
	for _, row := range rows {
		for i, x := range m[row.key] {
			fmt.Fprintf(w, "| %s | %d | %v | %v | %.0f MiB | %d |\n", row.key, i+1, x.Wall.Round(time.Millisecond), x.CPU, float64(x.PeakRSS)/(1<<20), x.RecordsOut)
		}
	}
	w.WriteString("\n</details>\n\n")
}

func (wl *workloadResult) writeIndexers(w *strings.Builder) {
	fs, bl := wl.Indexers["flowship"], wl.Indexers["bulk"]
	if len(fs) == 0 {
		return
	}
	fmt.Fprintf(w, "## Indexing, workload %q: the %d documents of one collect run into Elasticsearch (median of %d runs)\n\n", wl.Name, wl.IndexDocs, len(fs))
	w.WriteString("| program | documents/s | after the first document | CPU-s per 1M documents | peak RSS | documents in Elasticsearch |\n|---|---:|---:|---:|---:|---:|\n")
	for _, row := range indexerRows {
		runs := wl.Indexers[row.key]
		if len(runs) == 0 {
			continue
		}
		steady := "-"
		if v := medianOf(runs, runResult.steadyPerSecond); v > 0 {
			steady = num(v)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f | %.0f MiB | %.0f |\n", row.label, num(medianOf(runs, runResult.perSecond)), steady,
			medianOf(runs, runResult.cpuPerMillion), medianOf(runs, func(x runResult) float64 { return float64(x.PeakRSS) / (1 << 20) }),
			medianOf(runs, func(x runResult) float64 { return float64(x.RecordsOut) }))
	}
	if len(bl) > 0 {
		fmt.Fprintf(w, "\nflowship index ÷ plain loader: **%.2f×** documents/s, **%.2f×** CPU per document. Both times run from process start (flowship's includes joining the consumer group); Elasticsearch shares the machine's cores. Both post the same documents (flow documents with their `policy_hits`); the loader's bodies are built before it starts.\n\n",
			medianOf(fs, runResult.perSecond)/medianOf(bl, runResult.perSecond), medianOf(fs, runResult.cpuPerMillion)/medianOf(bl, runResult.cpuPerMillion))
	}
	writeRuns(w, wl.Indexers, indexerRows)
}

func (r *report) writeReduction(w *strings.Builder) {
	if len(r.Reduction) == 0 {
		return
	}
	var raw fileStat
	name := ""
	if len(r.Workloads) > 0 && len(r.Workloads[0].Files) > 0 {
		raw, name = r.Workloads[0].Files[0], r.Workloads[0].Name
	}
	fmt.Fprintf(w, "## Reduction, workload %q: %d flow lines (%.0f MiB of logs) by aggregation level and window\n\n", name, raw.Lines, float64(raw.Bytes)/(1<<20))
	w.WriteString("| level | window | documents | lines per document | Elasticsearch store | bytes per line |\n|---:|---|---:|---:|---:|---:|\n")
	for _, x := range r.Reduction {
		fmt.Fprintf(w, "| %d | %s | %d | %.1f | %.1f MiB | %.1f |\n", x.Level, x.Window, x.Docs,
			float64(x.Lines)/float64(max(x.Docs, 1)), float64(x.StoreBytes)/(1<<20), float64(x.StoreBytes)/float64(max(x.Lines, 1)))
	}
	w.WriteString("\nStore size is the primaries' `store.size_in_bytes` from `_stats` after a force merge to one segment, under flowship's index templates; both flow levels (allowed and denied) set to the level shown.\n")
}

// num formats a rate with thousands separators.
func num(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}
