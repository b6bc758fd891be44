//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
	"github.com/flowship/flowship/sinks/kafka"
)

// TestCollectKafkaSIGKILLExactlyOnce proves ARCHITECTURE.md decision 2 on
// the real broker: `flowship collect` runs as a separate process while a
// writer appends Felix-style bursts with lumberjack rotation; it is
// killed with SIGKILL at random moments and restarted, then drains. The
// topic, deduplicated by the id header, must hold exactly the documents
// `flowship aggregate` makes of the same files: none lost, none counted
// twice, every copy of a document identical. FLOWSHIP_TEST_SEED replays
// a run; FLOWSHIP_TEST_KEEP=dir keeps its files for inspection.
func TestCollectKafkaSIGKILLExactlyOnce(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	begin := time.Now()
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	bin := buildFlowship(t)
	dir := workDir(t)
	env := collectEnv(t, dir, brokers, filepath.Join(dir, "state", "bad-lines.jsonl"))

	w := newFelixWriter(filepath.Join(dir, "flowlogs"), seed, 192<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	written := make(chan error, 1)
	go func() { written <- w.run(ctx, 20) }()

	c := startCollector(t, bin, dir, env, 0)
	kills := 0
	writing := true
	for writing || kills < 5 {
		select {
		case err := <-written:
			if err != nil {
				c.kill(t)
				t.Fatalf("writer: %v", err)
			}
			writing = false
		case <-time.After(randDuration(rng, 300*time.Millisecond, 3*time.Second)):
			c.kill(t)
			kills++
			time.Sleep(randDuration(rng, 0, 700*time.Millisecond))
			c = startCollector(t, bin, dir, env, kills)
		}
	}
	t.Logf("%s: writer done: %d windows, %d lines (%d bad), %d rotations; collector SIGKILLed %d times",
		since(begin), w.windows, w.lines, len(w.bad), len(w.rotated), kills)

	files := append(slices.Clone(w.rotated), w.live())
	offline := maps.Clone(env)
	offline["IT_DEAD_LETTER"] = filepath.Join(dir, "state", "offline-bad-lines.jsonl")
	want, bad := aggregateOffline(t, bin, offline, files)
	t.Logf("%s: offline run: %d documents to find in Kafka", since(begin), len(want))

	tr := &topicReader{brokers: brokers, topic: env["IT_TOPIC_FLOWS"], docs: map[string]any{}}
	waitDelivered(t, c, tr, want, filepath.Join(dir, "state", "flows.positions.json"), files)
	c.stop(t)
	tr.poll(t)
	t.Logf("%s: drained; kafka: %d messages, %d duplicates by id, %d documents; offline: %d documents",
		since(begin), tr.messages, tr.duplicates, len(tr.docs), len(want))
	compareDocs(t, dir, tr.docs, want)
	checkBadLines(t, filepath.Join(dir, "state", "bad-lines.jsonl"), w.bad, bad)
}

// testSeed returns FLOWSHIP_TEST_SEED or a fresh seed, and logs it.
func testSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FLOWSHIP_TEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("FLOWSHIP_TEST_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (rerun with FLOWSHIP_TEST_SEED=%d)", seed, seed)
	return seed
}

// workDir returns the test's directory: a new one under
// FLOWSHIP_TEST_KEEP (kept) or a temporary one, with its subdirectories.
func workDir(t *testing.T) string {
	dir := t.TempDir()
	if keep := os.Getenv("FLOWSHIP_TEST_KEEP"); keep != "" {
		var err error
		if dir, err = os.MkdirTemp(keep, "collect-"); err != nil {
			t.Fatal(err)
		}
		t.Logf("keeping files in %s", dir)
	}
	for _, d := range []string{"state", "logs", "flowlogs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildFlowship builds the binary, so the collector is a process of its
// own that SIGKILL ends without any deferred code running.
func buildFlowship(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "flowship")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// collectEnv creates the test's topics and returns the variables that
// testdata/collect/collect.yaml refers to.
func collectEnv(t *testing.T, dir string, brokers []string, deadLetter string) map[string]string {
	tp := kafka.Topics{
		Flows: testenv.UniqueName(t, "flows"), L7: testenv.UniqueName(t, "l7"),
		DNS: testenv.UniqueName(t, "dns"), DeadLetter: testenv.UniqueName(t, "dlq"),
	}
	specs := kafka.DefaultTopicSpecs(tp)
	for i := range specs {
		specs[i].Partitions = 3
	}
	conn := kafka.Connection{Brokers: brokers, ClientID: "flowship-test", DialTimeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, _, err := kafka.EnsureTopics(ctx, conn, specs); err != nil {
		t.Fatalf("creating topics: %v", err)
	}
	return map[string]string{
		"IT_DIR": dir, "IT_BOOTSTRAP_BROKER": brokers[0], "IT_DEAD_LETTER": deadLetter,
		"IT_TOPIC_FLOWS": tp.Flows, "IT_TOPIC_L7": tp.L7, "IT_TOPIC_DNS": tp.DNS, "IT_TOPIC_DLQ": tp.DeadLetter,
	}
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }

func randDuration(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
}

// flowshipCmd returns bin with args, the test's config and variables.
func flowshipCmd(bin string, env map[string]string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, append(args, "--config", filepath.Join("testdata", "collect", "collect.yaml"))...)
	cmd.Env = envList(env)
	return cmd
}

// envList is this process's environment plus env.
func envList(env map[string]string) []string {
	out := os.Environ()
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// collector is one running `flowship collect` process.
type collector struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error // set before exited closes
}

func startCollector(t *testing.T, bin, dir string, env map[string]string, n int) *collector {
	t.Helper()
	return runCollector(t, flowshipCmd(bin, env, "collect"), filepath.Join(dir, "logs", fmt.Sprintf("collect-%02d.log", n)))
}

// runCollector starts cmd (a `flowship collect`) with its output in log;
// the process is killed when the test ends.
func runCollector(t *testing.T, cmd *exec.Cmd, log string) *collector {
	t.Helper()
	c := &collector{cmd: cmd, log: log, exited: make(chan struct{})}
	f, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c.cmd.Stdout, c.cmd.Stderr = f, f
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting collector: %v", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() { _ = c.cmd.Process.Kill(); <-c.exited })
	return c
}

// kill SIGKILLs the collector; it fails t if the process had already
// exited on its own.
func (c *collector) kill(t *testing.T) {
	t.Helper()
	select {
	case <-c.exited:
		t.Fatalf("collector exited before it was killed: %v\n%s", c.err, tail(c.log, 30))
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// stop ends the collector with SIGTERM and expects a clean exit.
func (c *collector) stop(t *testing.T) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("collector did not stop within 30s of SIGTERM\n%s", tail(c.log, 30))
	}
	if c.err != nil {
		t.Fatalf("collector exited with %v after SIGTERM\n%s", c.err, tail(c.log, 30))
	}
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// waitDelivered waits until the positions file acknowledges every byte
// of files and every document in want is in the topic. Once the input
// has been quiet for idle_flush, the collector flushes every bucket that
// ended that long ago by the wall clock (all of them: the synthetic
// windows lie in the past), so nothing is held back.
func waitDelivered(t *testing.T, c *collector, tr *topicReader, want map[string]any, positions string, files []string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		tr.poll(t)
		var missing []string
		for id, d := range want {
			if _, ok := tr.docs[id]; !ok {
				missing = append(missing, id+" "+describe(d))
			}
		}
		report, done := drained(positions, files)
		if len(missing) == 0 && done {
			return
		}
		if time.Now().After(deadline) {
			slices.Sort(missing)
			t.Errorf("60s after the writer finished, %d of %d documents are not in Kafka, e.g.\n  %s\npositions (file: acknowledged/size):\n%s\ncollector log:\n%s",
				len(missing), len(want), strings.Join(missing[:min(5, len(missing))], "\n  "), report, tail(c.log, 30))
			return
		}
		select {
		case <-c.exited:
			t.Fatalf("collector exited while draining: %v\n%s", c.err, tail(c.log, 30))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// drained compares the positions file with the sizes of files.
func drained(positions string, files []string) (string, bool) {
	var doc struct {
		Files []struct {
			Inode  uint64 `json:"inode"`
			Offset int64  `json:"offset"`
		} `json:"files"`
	}
	b, err := os.ReadFile(positions)
	if err == nil {
		err = json.Unmarshal(b, &doc)
	}
	if err != nil {
		return fmt.Sprintf("positions file: %v", err), false
	}
	acked := map[uint64]int64{}
	for _, f := range doc.Files {
		acked[f.Inode] = f.Offset
	}
	var report strings.Builder
	done := true
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return err.Error(), false
		}
		got, ok := acked[fi.Sys().(*syscall.Stat_t).Ino]
		if !ok || got != fi.Size() {
			done = false
			fmt.Fprintf(&report, "  %s: %d/%d (listed %v)\n", filepath.Base(f), got, fi.Size(), ok)
		}
	}
	return report.String(), done
}
