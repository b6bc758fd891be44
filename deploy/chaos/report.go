package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

func newHTTPClient() *http.Client { return &http.Client{Timeout: 60 * time.Second} }

func (c *campaign) kafkaClient() *kafkago.Client {
	return &kafkago.Client{Addr: kafkago.TCP(c.brokerList...), Timeout: 30 * time.Second}
}

func deleteTopics(names []string) *kafkago.DeleteTopicsRequest {
	return &kafkago.DeleteTopicsRequest{Topics: names}
}

// report is what the campaign prints at the end (and writes to report.md).
type report struct {
	c                *campaign
	runName, version string
	commit           string // of the tree the binary was built from
	env              map[string]string
	faults           []*fault
	rows             []row
	un, total        row
	findings         []finding
	stored, distinct int
	settled          bool
	windows          []window
	rotations        map[string]int
	aggSummary       string
	peaks            []peak
	nFaults          int
	types            []string
}

func (r *report) write(w io.Writer) {
	c := r.c
	lines := 0
	for _, x := range r.windows {
		lines += x.lines
	}
	fmt.Fprintf(w, "\n# Fault campaign %s\n\n", r.runName)
	fmt.Fprintf(w, "- flowship built from commit %s, %s, %s\n", r.commit, r.version, runtime.Version())
	fmt.Fprintf(w, "- Kafka %s, %d KRaft nodes (replication 3, min.insync.replicas 2); Elasticsearch %s\n", r.env["FLOWSHIP_KAFKA_VERSION"], c.brokers, r.env["FLOWSHIP_ES_VERSION"])
	fmt.Fprintf(w, "- seed %d, %d faults, es-outage %s, storm %s; positions-full via %s\n", c.seed, r.nFaults, c.esOutage, c.storm, c.posMode)
	fmt.Fprintf(w, "- input: %d windows, %d lines (flows, l7, dns); rotations %v\n", len(r.windows), lines, r.rotations)
	fmt.Fprintf(w, "- settled at the end (collect caught up, index lag 0, count stable): %v\n", r.settled)
	fmt.Fprintf(w, "- Elasticsearch: %d documents, %d distinct ids; `flowship aggregate` of every line written: %d documents\n\n", r.stored, r.distinct, r.total.expected)
	fmt.Fprintf(w, "Per fault type: each document counts for the fault its window is attributed to: the fault running when\n")
	fmt.Fprintf(w, "the window was written (until %s after it ended), else the next fault starting within %s after the\n", attrSettle, attrLookback)
	fmt.Fprintf(w, "write; the rows add up to the total. extra = an _id the offline aggregate does not have; (N!) = N faults\n")
	fmt.Fprintf(w, "whose injection itself failed.\n\n")
	writeTable(w, r.rows, r.un, r.total)
	fmt.Fprintf(w, "\nPeak RSS (VmHWM, sampled every 250 ms and before each signal):\n\n")
	for _, p := range r.peaks {
		fmt.Fprintf(w, "- %s: %.1f MiB over %d incarnations\n", p.role, float64(p.maxKiB)/1024, p.incarnations)
	}
	fmt.Fprintf(w, "\nEvidence from the logs: %d indexer log lines with status=429; %d collect and %d indexer lines at level WARN or ERROR.\n",
		countInLogs(filepath.Join(c.dir, "logs", "index-*.log"), "status=429"), countInLogs(filepath.Join(c.dir, "logs", "collect.log"), "level=WARN", "level=ERROR"),
		countInLogs(filepath.Join(c.dir, "logs", "index-*.log"), "level=WARN", "level=ERROR"))
	fmt.Fprintf(w, "\nFaults in order:\n\n")
	for _, f := range r.faults {
		status := ""
		if f.err != nil {
			status = " — ERROR: " + oneLine(f.err.Error())
		}
		if len(f.found) > 0 {
			status += fmt.Sprintf(" — attributed: %d missing, %d duplicated, %d extra, %d differing",
				f.found[missing], f.found[duplicated], f.found[extra], f.found[differing])
		}
		fmt.Fprintf(w, "%3d. %s +%s %-26s %5.1fs %s%s\n", f.n, f.start.UTC().Format("15:04:05"), f.start.Sub(c.start).Round(time.Second), f.typ,
			f.end.Sub(f.start).Seconds(), strings.Join(f.notes, "; "), status)
	}
	if len(r.findings) > 0 {
		fmt.Fprintf(w, "\nFindings (first 15 of %d; all in findings.jsonl):\n\n", len(r.findings))
		for i, fd := range r.findings {
			if i == 15 {
				break
			}
			fmt.Fprintf(w, "- %s %s bucket %s id %s %s\n", fd.what, fd.kind, time.Unix(fd.bucket, 0).UTC().Format("01-02T15:04"), fd.id, fd.detail)
		}
	}
	verdict := "PASS: every document once and as expected"
	switch {
	case !r.settled:
		verdict = "FAIL: the pipeline did not settle"
		if len(r.findings) > 0 {
			verdict += fmt.Sprintf("; %d documents not as expected", len(r.findings))
		}
	case len(r.findings) > 0:
		verdict = fmt.Sprintf("FAIL: %d documents not as expected", len(r.findings))
	}
	fmt.Fprintf(w, "\n%s\n", verdict)
}

// treeCommit names the commit the flowship binary is built from, marked
// when the tree has uncommitted changes to tracked files.
func treeCommit(root string) string {
	commit, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	out := strings.TrimSpace(string(commit))
	if dirty, _ := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); len(strings.TrimSpace(string(dirty))) > 0 {
		out += " with uncommitted changes"
	}
	return out
}

// countInLogs counts the lines of the files matching glob that contain any of subs.
func countInLogs(glob string, subs ...string) int {
	files, _ := filepath.Glob(glob)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			for _, s := range subs {
				if strings.Contains(l, s) {
					n++
					break
				}
			}
		}
	}
	return n
}
