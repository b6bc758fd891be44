// Command chaos is flowship's fault campaign (issue 13): the whole
// pipeline on real services — a 3-node KRaft Kafka and Elasticsearch,
// started with deploy/local/services.sh — with collect following live
// Felix-like input that is rotated by rename and copytruncate, and three
// `flowship index` processes in one consumer group. It injects -faults
// faults at seeded random moments (SIGKILL collect, also during and around
// rotation and symlink swaps, corrupt or full positions, SIGKILL and
// scaling of indexers, SIGKILL of a broker, Elasticsearch outages and 429
// storms), then stops the input, waits until everything has settled, and
// compares Elasticsearch document by document with `flowship aggregate` of
// every line written. It prints per fault type the faults injected and the
// documents expected, missing, duplicated, extra and differing, plus the
// peak RSS of collect and index, and exits 1 when any document is not as
// expected.
//
//	go run ./deploy/chaos -seed 7 -faults 50        (make chaos SEED=7 FAULTS=50)
//
// See docs/reliability.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// campaign is one run: its configuration, the services, processes and
// input it drives, and the faults it injected.
type campaign struct {
	root, dir, posDir, posMode, config string
	seed                               uint64
	rng                                *rand.Rand
	svc                                *services
	ps                                 *procs
	in                                 *input
	genMu                              sync.Mutex // held while input is written or rotated
	notAfter                           time.Time
	indexers, brokers                  int
	esOutage, storm                    time.Duration
	brokerList                         []string
	group                              string
	topics                             []string
	es                                 *es
	pattern                            string
	bin                                string
	out                                io.Writer
	start                              time.Time
}

func (c *campaign) logf(format string, args ...any) {
	fmt.Fprintf(c.out, "[chaos %7s] %s\n", time.Since(c.start).Round(100*time.Millisecond), fmt.Sprintf(format, args...))
}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		seed         = flag.Uint64("seed", 1, "seed of the fault order, the fault parameters and the generated input")
		nFaults      = flag.Int("faults", 50, "faults to inject")
		typesFlag    = flag.String("types", "", "comma-separated fault types to draw from (default: all): "+strings.Join(faultTypeNames(), ","))
		esOutage     = flag.Duration("es-outage", 60*time.Second, "how long an es-outage keeps Elasticsearch stopped")
		storm        = flag.Duration("storm", 30*time.Second, "how long an es-429 runs Elasticsearch with a write queue of 1")
		gapMin       = flag.Duration("gap-min", 3*time.Second, "shortest pause between two faults")
		gapMax       = flag.Duration("gap-max", 15*time.Second, "longest pause between two faults")
		every        = flag.Duration("every", 3*time.Second, "the input gets one Felix window (5 min of event time) this often")
		flows        = flag.Int("flows-per-window", 150, "flow lines per window (L7 and DNS get a fifth each)")
		rotateMin    = flag.Int("rotate-min", 4, "the input is rotated every rotate-min..rotate-max windows")
		rotateMax    = flag.Int("rotate-max", 8, "see rotate-min")
		quiesce      = flag.Duration("quiesce-timeout", 5*time.Minute, "how long to wait at the end for collect and the indexers to settle")
		dirFlag      = flag.String("dir", "", "work directory (default $FLOWSHIP_STATE_DIR/chaos/<run>, or .services/chaos/<run>)")
		keep         = flag.Bool("keep", false, "keep the run's topics and indices (the work directory is always kept)")
		startSvcs    = flag.Bool("services", true, "start the 3-node Kafka and Elasticsearch with deploy/local/services.sh (and stop what it started)")
		brokersCount = flag.Int("brokers", 3, "Kafka nodes")
	)
	flag.Parse()
	c := &campaign{seed: *seed, esOutage: *esOutage, storm: *storm, indexers: 3, brokers: *brokersCount, out: os.Stdout, start: time.Now()}
	types := faultTypeNames()
	if *typesFlag != "" {
		types = strings.Split(*typesFlag, ",")
		for _, t := range types {
			if !slices.Contains(faultTypeNames(), t) {
				fmt.Fprintf(os.Stderr, "chaos: unknown fault type %q; want some of %s\n", t, strings.Join(faultTypeNames(), ","))
				return 2
			}
		}
	}
	if *nFaults < 1 || *gapMax < *gapMin || *rotateMin < 1 || *rotateMax < *rotateMin {
		fmt.Fprintln(os.Stderr, "chaos: want -faults >= 1, -gap-max >= -gap-min, 1 <= -rotate-min <= -rotate-max")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 2
	}
	c.root = root
	runName := fmt.Sprintf("chaos-%d-%s", c.seed, time.Now().UTC().Format("20060102t150405"))
	c.dir = *dirFlag
	if c.dir == "" {
		state := os.Getenv("FLOWSHIP_STATE_DIR")
		if state == "" {
			state = filepath.Join(root, ".services")
		}
		c.dir = filepath.Join(state, "chaos", runName)
	}
	if err := os.MkdirAll(filepath.Join(c.dir, "logs"), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 2
	}
	c.logf("run %s: seed %d, %d faults of %s; work directory %s", runName, c.seed, *nFaults, strings.Join(types, ","), c.dir)

	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		cleanups = nil
	}
	defer cleanup()

	code, err := c.execute(ctx, runName, types, *nFaults, *gapMin, *gapMax, *every, *flows, *rotateMin, *rotateMax, *quiesce, *startSvcs, *keep, &cleanups)
	if err != nil {
		c.logf("FAILED: %v", err)
		if code == 0 {
			code = 1
		}
	}
	cleanup()
	c.logf("done in %s; logs and the report are in %s", time.Since(c.start).Round(time.Second), c.dir)
	return code
}

func (c *campaign) execute(ctx context.Context, runName string, types []string, nFaults int, gapMin, gapMax, every time.Duration,
	flowsPerWindow, rotateMin, rotateMax int, quiesce time.Duration, startSvcs, keep bool, cleanups *[]func()) (int, error) {
	c.rng = rand.New(rand.NewPCG(c.seed, 0x13))
	// 1. the flowship binary, from this tree
	c.bin = filepath.Join(c.dir, "flowship")
	commit := treeCommit(c.root)
	c.logf("building %s", c.bin)
	build := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "./cmd/flowship")
	build.Dir, build.Stdout, build.Stderr = c.root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return 2, fmt.Errorf("go build ./cmd/flowship: %w", err)
	}
	version, _ := exec.Command(c.bin, "version").CombinedOutput()

	// 2. services
	svc, err := newServices(c.root, c.brokers, filepath.Join(c.dir, "logs", "services.log"))
	if err != nil {
		return 2, err
	}
	c.svc = svc
	if startSvcs {
		c.logf("starting the %d-node Kafka cluster and Elasticsearch (services.sh; log %s)", c.brokers, filepath.Join(c.dir, "logs", "services.log"))
		*cleanups = append(*cleanups, func() {
			c.logf("stopping what the campaign started (Kafka started here: %v, Elasticsearch started here: %v)", svc.startedKafka, svc.startedES)
			for _, err := range svc.down() {
				c.logf("stopping services: %v", err)
			}
		})
		if err := svc.up(ctx); err != nil {
			return 2, err
		}
	}
	env, err := svc.env(ctx)
	if err != nil {
		return 2, err
	}
	c.brokerList = strings.Split(env["FLOWSHIP_KAFKA_BROKERS"], ",")
	if len(c.brokerList) != c.brokers {
		return 2, fmt.Errorf("services.sh env lists brokers %v, want %d: is a single-node Kafka running?", c.brokerList, c.brokers)
	}
	c.es = &es{url: env["FLOWSHIP_ES_URL"], user: env["FLOWSHIP_ES_USER"], password: env["FLOWSHIP_ES_PASSWORD"], http: newHTTPClient()}
	c.logf("Kafka %s at %s; Elasticsearch %s at %s", env["FLOWSHIP_KAFKA_VERSION"], env["FLOWSHIP_KAFKA_BROKERS"], env["FLOWSHIP_ES_VERSION"], c.es.url)

	// 3. positions directory: a small tmpfs, or read-only faults if mounting is refused
	c.posDir = filepath.Join(c.dir, "positions")
	if err := os.MkdirAll(c.posDir, 0o755); err != nil {
		return 2, err
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", c.posDir).CombinedOutput(); err == nil {
		c.posMode = "tmpfs"
		*cleanups = append(*cleanups, func() {
			if out, err := exec.Command("umount", c.posDir).CombinedOutput(); err != nil {
				c.logf("umount %s: %v %s", c.posDir, err, out)
			}
		})
		c.logf("positions directory: a 4 MiB tmpfs (positions-full fills it)")
	} else {
		c.posMode = "read-only"
		c.logf("positions directory: mount -t tmpfs refused (%v: %s); positions-full makes it read-only (chmod 0555) instead", err, strings.TrimSpace(string(out)))
	}

	// 4. configuration, Kafka topics and Elasticsearch templates (flowship setup)
	id := strings.ReplaceAll(runName, "-", "")
	c.group = "chaos-" + id
	c.topics = []string{"chaos-flows-" + id, "chaos-l7-" + id, "chaos-dns-" + id}
	c.pattern = fmt.Sprintf("flowship-flows-%[1]s-*,flowship-l7-%[1]s-*,flowship-dns-%[1]s-*", runName)
	if err := os.WriteFile(filepath.Join(c.dir, "es-password"), []byte(c.es.password), 0o600); err != nil {
		return 2, err
	}
	c.config = filepath.Join(c.dir, "flowship.yaml")
	if err := os.WriteFile(c.config, []byte(c.configYAML(runName, id)), 0o644); err != nil {
		return 2, err
	}
	setup := exec.CommandContext(ctx, c.bin, "setup", "--config", c.config, "--kafka")
	setupLog, _ := os.Create(filepath.Join(c.dir, "logs", "setup.log"))
	setup.Stdout, setup.Stderr = setupLog, setupLog
	err = setup.Run()
	setupLog.Close()
	if err != nil {
		return 2, fmt.Errorf("flowship setup: %w\n%s", err, lastLines(readFileString(filepath.Join(c.dir, "logs", "setup.log")), 20))
	}
	if !keep {
		*cleanups = append(*cleanups, c.deleteRunObjects)
	}
	c.logf("flowship setup: topics %s (3 partitions, replication 3) and the index templates", strings.Join(c.topics, ","))

	// 5. input, collect, 3 indexers, the RSS sampler
	// Event time starts 7 days back and moves 5 minutes per window: far
	// enough for ~2,000 windows, never in the future (notAfter).
	startAt := time.Now().UTC().Add(-7 * 24 * time.Hour).Truncate(5 * time.Minute)
	c.notAfter = time.Now().Add(-10 * time.Minute)
	c.in, err = newInput(filepath.Join(c.dir, "input"), filepath.Join(c.dir, "oracle"), c.seed, flowsPerWindow, startAt)
	if err != nil {
		return 2, err
	}
	c.ps = newProcs(c.bin, c.config, filepath.Join(c.dir, "logs"), os.Environ())
	*cleanups = append(*cleanups, c.ps.killAll)
	sctx, stopSampling := context.WithCancel(ctx)
	var sampling sync.WaitGroup
	sampling.Add(1)
	go func() { defer sampling.Done(); c.ps.sampleLoop(sctx, 250*time.Millisecond) }()
	*cleanups = append(*cleanups, func() { stopSampling(); sampling.Wait() })

	if err := c.in.writeWindow(c.notAfter); err != nil {
		return 2, err
	}
	for s := 1; s <= c.indexers; s++ {
		if _, err := c.ps.start("index", s); err != nil {
			return 2, err
		}
	}
	if _, err := c.ps.start("collect", 0); err != nil {
		return 2, err
	}
	gctx, stopGen := context.WithCancel(ctx)
	genDone := make(chan error, 1)
	go func() { genDone <- c.generate(gctx, every, rotateMin, rotateMax) }()
	stopInput := func() error {
		stopGen()
		return <-genDone
	}
	defer stopGen()

	// 6. the faults
	order := schedule(c.rng, nFaults, types)
	var faults []*fault
	for i, typ := range order {
		gap := between(c.rng, gapMin, gapMax)
		if err := sleep(ctx, gap); err != nil {
			return 1, err
		}
		f := &fault{n: i + 1, typ: typ, start: time.Now()}
		ft := faultTypes[slices.IndexFunc(faultTypes, func(t faultType) bool { return t.name == typ })]
		f.err = ft.run(ctx, c, f)
		f.end = time.Now()
		faults = append(faults, f)
		status := "ok"
		if f.err != nil {
			status = "ERROR " + oneLine(f.err.Error())
		}
		c.logf("fault %2d/%d %-26s %5.1fs %s; %s", f.n, nFaults, typ, f.end.Sub(f.start).Seconds(), strings.Join(f.notes, "; "), status)
		if ctx.Err() != nil {
			return 1, ctx.Err()
		}
		if err := c.healthy(ctx, f); err != nil {
			return 1, fmt.Errorf("after fault %d (%s): %w", f.n, typ, err)
		}
	}

	// 7. stop the input, wait until everything settled
	if err := stopInput(); err != nil && !errors.Is(err, context.Canceled) {
		return 1, fmt.Errorf("input: %w", err)
	}
	windows, rotations := c.in.snapshot()
	c.logf("input stopped: %d windows written, rotations %v", len(windows), rotations)
	settled := c.waitQuiet(ctx, quiesce)

	// 8. compare
	want, aggSummary, err := expectedDocs(ctx, c.bin, c.config, c.in.oracleFiles())
	if err != nil {
		return 1, err
	}
	got, err := c.es.scan(ctx, c.pattern)
	if err != nil {
		return 1, fmt.Errorf("reading Elasticsearch: %w", err)
	}
	findings, stored := compare(want, got)
	rows, un, total := attribute(faults, windows, want, findings, types)
	rep := &report{c: c, runName: runName, commit: commit, version: strings.TrimSpace(string(version)), env: env, faults: faults, rows: rows,
		un: un, total: total, findings: findings, stored: stored, distinct: len(got), settled: settled, windows: windows,
		rotations: rotations, aggSummary: aggSummary, peaks: c.ps.peaks(), nFaults: nFaults, types: types}
	rep.write(c.out)
	if f, err := os.Create(filepath.Join(c.dir, "report.md")); err == nil {
		rep.write(f)
		f.Close()
	}
	writeFindings(filepath.Join(c.dir, "findings.jsonl"), findings)
	writeWindows(filepath.Join(c.dir, "windows.jsonl"), windows)
	if len(findings) > 0 || !settled {
		return 1, nil
	}
	return 0, nil
}

// generate writes a window every interval and rotates every
// rotateMin..rotateMax windows: by rename, or one time in four by
// copytruncate when collect has caught up (else by rename).
func (c *campaign) generate(ctx context.Context, every time.Duration, rotateMin, rotateMax int) error {
	rng := rand.New(rand.NewPCG(c.seed, 0x9e))
	next := rotateMin + rng.IntN(rotateMax-rotateMin+1)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		c.genMu.Lock()
		next--
		if next <= 0 {
			next = rotateMin + rng.IntN(rotateMax-rotateMin+1)
			mode := rotRename
			if rng.IntN(4) == 0 {
				if ok, _ := c.in.caughtUp(c.posDir); ok {
					mode = rotCopyTruncate
				}
			}
			if _, err := c.in.rotate(mode); err != nil {
				c.genMu.Unlock()
				return err
			}
		}
		err := c.in.writeWindow(c.notAfter)
		c.genMu.Unlock()
		if errors.Is(err, errInputExhausted) {
			c.logf("input: event time reached the present; no more windows")
			<-ctx.Done()
			return ctx.Err()
		}
		if err != nil {
			return err
		}
	}
}

// healthy checks that every process the campaign runs is alive after a
// fault; one that died on its own is restarted and noted.
func (c *campaign) healthy(ctx context.Context, f *fault) error {
	for _, k := range []struct {
		role string
		slot int
	}{{"collect", 0}, {"index", 1}, {"index", 2}, {"index", 3}} {
		p := c.ps.get(k.role, k.slot)
		if p != nil && p.alive() {
			continue
		}
		if p != nil {
			c.logf("  %s had exited on its own (%v): %s; restarting it", key(k.role, k.slot), p.err, oneLine(lastLines(readTail(p.log), 2)))
			f.notef("%s exited on its own", key(k.role, k.slot))
		}
		if _, err := c.ps.start(k.role, k.slot); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// waitQuiet waits until collect has every live file acknowledged, the
// consumer group has committed every record, and the document count has
// stayed the same over 3 polls 5 s apart; false when timeout passed first.
func (c *campaign) waitQuiet(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	var last int64 = -1
	stable := 0
	status := ""
	for time.Now().Before(deadline) {
		okCollect, why := c.in.caughtUp(c.posDir)
		lag, lerr := lagStatus(ctx, c.brokerList, c.group, c.topics)
		n, cerr := c.es.count(ctx, c.pattern)
		st := fmt.Sprintf("collect: %s; index lag %d (%v); documents %d (%v)", why, lag, lerr, n, cerr)
		if st != status {
			c.logf("settling: %s", st)
			status = st
		}
		if okCollect && lerr == nil && lag == 0 && cerr == nil && n == last {
			stable++
		} else {
			stable = 0
		}
		last = n
		if stable >= 2 {
			c.logf("settled: collect caught up, index lag 0, %d documents", n)
			return true
		}
		if sleep(ctx, 5*time.Second) != nil {
			return false
		}
	}
	c.logf("NOT settled after %s: %s", timeout, status)
	return false
}

func (c *campaign) configYAML(cluster, id string) string {
	in := filepath.Join(c.dir, "input")
	var inputs strings.Builder
	for _, k := range pipeline.Kinds {
		live := filepath.Join(in, kindFiles[k])
		base := strings.TrimSuffix(live, ".log")
		fmt.Fprintf(&inputs, "  %s:\n    enabled: true\n    paths: [%s, %s-*.log]\n    positions_file: %s\n    poll_interval: 200ms\n    linger: 200ms\n",
			k, live, base, filepath.Join(c.posDir, string(k)+".positions.json"))
	}
	return fmt.Sprintf(`# Generated by deploy/chaos for run %[1]s.
cluster: %[1]s
node: chaos-node-1
telemetry:
  listen: ""
  log_format: text
  log_level: info
inputs:
%[2]saggregation:
  levels: {allowed: 2, denied: 1}
  window: 5m
  idle_flush: 2s
  dead_letter_log: %[3]s/bad-lines.jsonl
kafka:
  brokers: [%[4]s]
  topics: {flows: chaos-flows-%[5]s, l7: chaos-l7-%[5]s, dns: chaos-dns-%[5]s, dead_letter: chaos-dlq-%[5]s}
  dead_letter_log: %[3]s/kafka-dead-letter.jsonl
topic_setup:
  partitions: 3
  replication_factor: 3
index:
  consumer:
    group_id: chaos-%[5]s
    linger: 200ms
    commit_interval: 500ms
  elasticsearch:
    urls: [%[6]s]
    username: "%[7]s"
    password_file: %[3]s/es-password
    workers: 2
    flush_interval: 200ms
    retry: {initial: 200ms, max: 5s}
retention:
  replicas: 0
  kinds:
    flows: {retention_days: 30}
    l7: {retention_days: 30}
    dns: {retention_days: 30}
`, cluster, inputs.String(), c.dir, strings.Join(c.brokerList, ", "), id, c.es.url, c.es.user)
}

// deleteRunObjects removes the run's indices, templates and topics.
func (c *campaign) deleteRunObjects() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.es.do(ctx, "DELETE", "/"+c.pattern+"?allow_no_indices=true&expand_wildcards=all", nil); err != nil {
		c.logf("cleanup: deleting the run's indices: %v", err)
	}
	cl := c.kafkaClient()
	if _, err := cl.DeleteTopics(ctx, deleteTopics(append(slices.Clone(c.topics), strings.Replace(c.topics[0], "flows", "dlq", 1)))); err != nil {
		c.logf("cleanup: deleting the run's topics: %v", err)
	}
}

func writeFindings(path string, fs []finding) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for _, x := range fs {
		_ = enc.Encode(map[string]any{"id": x.id, "what": x.what, "kind": x.kind, "bucket_start": x.bucket, "detail": x.detail})
	}
}

// writeWindows records when each window was written, for a closer look at
// the findings than the attribution gives.
func writeWindows(path string, ws []window) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for _, w := range ws {
		_ = enc.Encode(map[string]any{"bucket_start": w.bucket, "written": w.written.UTC().Format(time.RFC3339Nano), "lines": w.lines})
	}
}

// repoRoot is the module root above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "deploy", "local", "services.sh")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s is not inside the flowship repository", dir)
		}
	}
}
