package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// options are the flags of `fsbench run`.
type options struct {
	flowship         string
	rsyslogd         string
	rsyslogConf      string
	work             string
	results          string
	command          string
	lines            int
	windows          int
	runs             int
	smoke            bool
	maxLoad          float64
	loadWait         time.Duration
	skip             string
	workloads        []string
	brokers          []string
	esURL            string
	esUser           string
	esPassword       string
	kafkaVersion     string
	timeout          time.Duration
	inflight         int
	compression      string
	compressionLevel string
	chartValues      string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.flowship, "flowship", "flowship", "flowship binary")
	fs.StringVar(&o.rsyslogd, "rsyslogd", "/usr/sbin/rsyslogd", "rsyslogd binary (Debian rsyslog + rsyslog-kafka); empty skips the peer")
	fs.StringVar(&o.rsyslogConf, "rsyslog-conf", "benchmarks/rsyslog/rsyslog.conf", "rsyslog configuration template")
	fs.StringVar(&o.work, "work", "", "working directory for logs, configs and process logs (default: a new temporary directory)")
	fs.StringVar(&o.results, "results", "", "directory for the dated Markdown, JSON and PNG results (empty: print only)")
	fs.StringVar(&o.command, "command", "", "the command line to record in the results (run.sh passes its own)")
	fs.IntVar(&o.lines, "lines", 1_000_000, "flow lines to generate (L7 and DNS lines come on top)")
	fs.IntVar(&o.windows, "windows", 20, "5-minute Felix windows the flow lines are spread over")
	fs.IntVar(&o.runs, "runs", 3, "runs of each measurement; the tables show medians")
	fs.BoolVar(&o.smoke, "smoke", false, "quick check of the harness: no load wait, two reduction settings")
	fs.Float64Var(&o.maxLoad, "max-load", 1.5, "wait until the 1-minute load average is below this before measuring")
	fs.DurationVar(&o.loadWait, "load-wait", 30*time.Minute, "give up waiting for a quiet machine after this long (and record it)")
	fs.StringVar(&o.skip, "skip", "", "comma-separated parts to skip: floor, collect, chart (collect with the chart's settings), rsyslog, index, reduce")
	workloads := fs.String("workloads", "on,off", "workloads, in order: on (labels and policy traces on, as Calico Enterprise's operator sets Felix; indexing and reduction use the first workload) and off (Felix's own defaults)")
	fs.DurationVar(&o.timeout, "timeout", 20*time.Minute, "longest one measured process may take")
	fs.IntVar(&o.inflight, "inflight", 256, "flowship inputs.<kind>.max_inflight_batches: flowship's default 8 stalls for idle_flush whenever more than 8 batches (8000 lines) of one Felix window wait for their bucket to close")
	fs.StringVar(&o.compressionLevel, "compression-level", "", "flowship kafka.compression_level (empty: flowship's default)")
	fs.StringVar(&o.chartValues, "chart-values", "", "the Helm chart's values.yaml: collect also runs with its collector memory settings (limits.memory as FLOWSHIP_MEMORY_LIMIT, maxOpenKeys, kafkaMaxInflightBatches); empty skips that run")
	fs.StringVar(&o.compression, "compression", "zstd", "flowship kafka.compression (flowship's default zstd; rsyslog's omkafka uses zstd too)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.brokers = strings.Split(envOr("FLOWSHIP_KAFKA_BROKERS", "127.0.0.1:9092"), ",")
	o.esURL = envOr("FLOWSHIP_ES_URL", "http://127.0.0.1:9200")
	o.esUser = os.Getenv("FLOWSHIP_ES_USER")
	o.esPassword = os.Getenv("FLOWSHIP_ES_PASSWORD")
	o.kafkaVersion = envOr("FLOWSHIP_KAFKA_VERSION", "unknown")
	if o.runs < 1 || o.lines < 1000 || o.windows < 1 {
		return o, errors.New("--runs must be at least 1, --lines at least 1000, --windows at least 1")
	}
	for w := range strings.SplitSeq(*workloads, ",") {
		w = strings.TrimSpace(w)
		if w != workloadOn && w != workloadOff || slices.Contains(o.workloads, w) {
			return o, fmt.Errorf("--workloads %q: want on and/or off, each once", *workloads)
		}
		o.workloads = append(o.workloads, w)
	}
	return o, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (o options) skipped(part string) bool {
	for s := range strings.SplitSeq(o.skip, ",") {
		if strings.TrimSpace(s) == part {
			return true
		}
	}
	return part == "rsyslog" && o.rsyslogd == "" || part == "chart" && o.chartValues == ""
}

// bench is one `fsbench run`.
type bench struct {
	o         options
	out       io.Writer
	kafka     *benchKafka
	es        *benchES
	stamp     string
	workloads []*workload
	w         *workload // the workload being measured
	esReady   bool      // flowship setup has applied the templates
	chart     collectVariant
	report    report
}

// workload is one generated set of log files and its results.
type workload struct {
	logs  string   // generated log directory
	files []string // flows, l7, dns
	res   *workloadResult
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	if o.work == "" {
		o.work, err = os.MkdirTemp("", "fsbench-")
	} else {
		err = os.MkdirAll(o.work, 0o755)
	}
	if err != nil {
		return err
	}
	b := &bench{o: o, out: stdout, kafka: newBenchKafka(o.brokers), es: newBenchES(o.esURL, o.esUser, o.esPassword),
		stamp: time.Now().UTC().Format("20060102t150405")}
	for _, name := range o.workloads {
		w := &workload{logs: filepath.Join(o.work, "logs-"+name), res: &workloadResult{Name: name}}
		b.workloads = append(b.workloads, w)
		b.report.Workloads = append(b.report.Workloads, w.res)
	}
	b.report.Started = time.Now().UTC()
	b.report.Command = o.command
	b.report.Smoke = o.smoke
	b.report.Settings = fmt.Sprintf("flowship: flowship's defaults except inputs.*.max_inflight_batches %d (default 8192), inputs.*.linger 100ms, "+
		"aggregation.idle_flush 500ms (so the last bucket does not wait 30s), kafka.compression %s (level %s); "+
		"topics of 6 partitions, replication 1; rsyslog: benchmarks/rsyslog/rsyslog.conf (zstd, acks=all)", o.inflight, o.compression, levelOr(o.compressionLevel))
	if !o.skipped("chart") {
		c, err := readChartDefaults(o.chartValues)
		if err != nil {
			return err
		}
		b.chart = chartVariant(c)
		b.report.Chart = &c
		b.report.Settings += "; `flowship collect` with the Helm chart's collector settings (" + filepath.Base(filepath.Dir(c.Path)) + "/values.yaml): " + c.String()
	}
	b.logf("fsbench: working in %s", o.work)
	if err := b.describe(ctx); err != nil {
		return err
	}
	for _, w := range b.workloads {
		b.w = w
		if err := b.generate(ctx); err != nil {
			return err
		}
	}
	if err := b.waitQuiet(ctx); err != nil {
		return err
	}
	if err := b.measure(ctx); err != nil {
		return err
	}
	b.report.Finished = time.Now().UTC()
	b.report.LoadAfter = loadAvg()
	return b.write()
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.out, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// measure runs every measurement: the collectors in rounds (each round
// runs floor, flowship and rsyslog once on every workload, so drift in
// the machine's load hits all of them alike), then the indexers and the
// reduction on the first workload.
func (b *bench) measure(ctx context.Context) error {
	for _, w := range b.workloads {
		b.w = w
		expected, err := b.expectedDocs(ctx, defaultVariant)
		if err != nil {
			return err
		}
		w.res.ExpectedDocs = expected
		if !b.o.skipped("collect") && !b.o.skipped("chart") {
			if w.res.ExpectedChartDocs, err = b.expectedDocs(ctx, b.chart); err != nil {
				return err
			}
		}
	}
	var keep []string // the topics of the first workload's first flowship run feed the indexers
	for r := range b.o.runs {
		b.report.LoadPerRound = append(b.report.LoadPerRound, loadAvg())
		for i, w := range b.workloads {
			b.w = w
			topics, err := b.round(ctx, r)
			if err != nil {
				return err
			}
			if i == 0 && keep == nil {
				keep = topics
			} else if len(topics) > 0 {
				_ = b.kafka.deleteTopics(ctx, topics...)
			}
		}
	}
	b.w = b.workloads[0]
	if !b.o.skipped("index") && keep != nil {
		if err := b.measureIndex(ctx, keep); err != nil {
			return err
		}
	}
	if keep != nil {
		_ = b.kafka.deleteTopics(ctx, keep...)
	}
	if !b.o.skipped("reduce") {
		return b.measureReduction(ctx)
	}
	return nil
}

// round runs floor, flowship collect (with flowship's defaults, then with
// the chart's) and rsyslog once each; it returns the topics the first
// flowship run wrote.
func (b *bench) round(ctx context.Context, r int) ([]string, error) {
	if !b.o.skipped("floor") {
		res, err := b.runFloor(ctx, r)
		if err != nil {
			return nil, err
		}
		b.w.res.add("floor", res)
		b.logf("run %d %s floor: %s", r+1, b.w.res.Name, res)
	}
	var topics []string
	if !b.o.skipped("collect") {
		res, t, err := b.runCollect(ctx, r, b.w.res.ExpectedDocs, defaultVariant)
		if err != nil {
			return nil, err
		}
		topics = t
		b.w.res.add("flowship", res)
		b.logf("run %d %s flowship collect: %s", r+1, b.w.res.Name, res)
		if !b.o.skipped("chart") {
			res, t, err := b.runCollect(ctx, r, b.w.res.ExpectedChartDocs, b.chart)
			if err != nil {
				return nil, err
			}
			_ = b.kafka.deleteTopics(ctx, t...)
			b.w.res.add(b.chart.name, res)
			b.logf("run %d %s flowship collect with the chart's settings: %s", r+1, b.w.res.Name, res)
		}
	}
	if !b.o.skipped("rsyslog") {
		res, err := b.runRsyslog(ctx, r)
		if err != nil {
			return nil, err
		}
		b.w.res.add("rsyslog", res)
		b.logf("run %d %s rsyslog: %s", r+1, b.w.res.Name, res)
	}
	return topics, nil
}

// levelOr names the compression level the run used.
func levelOr(level string) string {
	if level == "" {
		return "flowship's default"
	}
	return level
}
