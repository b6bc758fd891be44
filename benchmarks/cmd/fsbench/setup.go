package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// describe records the machine and every version the results depend on,
// and checks that Kafka and Elasticsearch answer.
func (b *bench) describe(ctx context.Context) error {
	m := &b.report.Machine
	m.CPU = cpuModel()
	m.Cores = runtime.NumCPU()
	m.MemGiB = memGiB()
	m.Kernel = firstLine(exec.Command("uname", "-sr").Output())
	m.Go = runtime.Version()
	m.Flowship = firstLine(exec.Command(b.o.flowship, "version").Output())
	if c := firstLine(exec.Command("git", "-C", filepath.Dir(b.o.rsyslogConf), "rev-parse", "--short", "HEAD").Output()); c != "" {
		m.Flowship += " (commit " + c + ")"
	}
	if !b.o.skipped("rsyslog") {
		m.Rsyslog = firstLine(exec.Command(b.o.rsyslogd, "-v").Output())
		m.Rsyslog, _, _ = strings.Cut(strings.Join(strings.Fields(m.Rsyslog), " "), " compiled with")
		m.Librdkafka = firstLine(exec.Command("dpkg-query", "-W", "-f", "${Version}", "librdkafka1").Output())
	}
	m.Kafka = b.o.kafkaVersion
	if _, err := b.kafka.count(ctx); err != nil {
		return fmt.Errorf("kafka at %v does not answer (%w); start it with: bash deploy/local/services.sh up", b.o.brokers, err)
	}
	if b.o.skipped("index") && b.o.skipped("reduce") {
		return nil
	}
	v, err := b.es.version(ctx)
	if err != nil {
		return fmt.Errorf("elasticsearch at %s does not answer (%w); start it with: bash deploy/local/services.sh up, and export its env", b.o.esURL, err)
	}
	m.Elasticsearch = v
	b.logf("machine: %s, %d cores, %d GiB; %s; %s", m.CPU, m.Cores, m.MemGiB, m.Flowship, m.Rsyslog)
	return nil
}

func firstLine(out []byte, err error) string {
	if err != nil {
		return ""
	}
	s, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(s)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memGiB() int {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	kb, _ := strconv.Atoi(f[1])
	return (kb + 1<<19) >> 20
}

// loadAvg returns the 1-minute load average.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// waitQuiet waits until the 1-minute load average is below --max-load,
// polling every minute, for at most --load-wait; the load seen is recorded.
func (b *bench) waitQuiet(ctx context.Context) error {
	if b.o.smoke {
		b.report.LoadBefore = loadAvg()
		return nil
	}
	deadline := time.Now().Add(b.o.loadWait)
	for {
		l := loadAvg()
		b.report.LoadBefore = l
		if l < b.o.maxLoad {
			b.logf("load average %.2f < %.2f: measuring", l, b.o.maxLoad)
			return nil
		}
		if time.Now().After(deadline) {
			b.report.LoadWaitExpired = true
			b.logf("load average still %.2f after %v: measuring anyway (recorded in the results)", l, b.o.loadWait)
			return nil
		}
		b.logf("load average %.2f >= %.2f: waiting a minute", l, b.o.maxLoad)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute):
		}
	}
}

// generate writes the workload with `flowship gen`: --lines flow lines
// over --windows 5-minute windows ending now, plus L7 and DNS lines, one
// file per kind (no rotation, so every agent reads the same files).
func (b *bench) generate(ctx context.Context) error {
	perWindow := (b.o.lines + b.o.windows - 1) / b.o.windows
	start := time.Now().UTC().Truncate(5 * time.Minute).Add(-time.Duration(b.o.windows+1) * 5 * time.Minute)
	args := []string{"gen", "--out", b.w.logs, "--windows", strconv.Itoa(b.o.windows),
		"--flows-per-window", strconv.Itoa(perWindow), "--workloads", "200", "--namespaces", "20",
		"--deny-ratio", "0.1", "--start", start.Format(time.RFC3339), "--rotate-size", "64GiB"}
	if b.w.res.Name == workloadOff {
		// Felix's own defaults: source_labels, dest_labels and policies
		// null, about 1.3 KB per line. The "on" workload is gen's default,
		// what Calico Enterprise's operator configures: about 1.7 KB with
		// three policy traces.
		args = append(args, "--labels=false", "--policies=false")
	}
	if err := os.RemoveAll(b.w.logs); err != nil {
		return err
	}
	b.w.res.GenCommand = "flowship " + strings.Join(args, " ")
	b.logf("generating: %s", b.w.res.GenCommand)
	if _, err := runProc(ctx, b.o.flowship, args, filepath.Join(b.o.work, "gen.log"), b.o.timeout); err != nil {
		return err
	}
	for _, rel := range []string{"flowlogs/flows.log", "l7logs/l7.log", "dnslogs/dns.log"} {
		path := filepath.Join(b.w.logs, rel)
		lines, size, err := countLines(path)
		if err != nil {
			return err
		}
		b.w.files = append(b.w.files, path)
		b.w.res.Files = append(b.w.res.Files, fileStat{Kind: kindOf(path), Lines: lines, Bytes: size})
		b.w.res.Lines += lines
	}
	b.logf("workload: %v", b.w.res.Files)
	return nil
}

func countLines(path string) (lines, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		n, err := f.Read(buf)
		size += int64(n)
		for _, c := range buf[:n] {
			if c == '\n' {
				lines++
			}
		}
		if err == io.EOF {
			return lines, size, nil
		}
		if err != nil {
			return lines, size, err
		}
	}
}
