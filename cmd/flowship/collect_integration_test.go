//go:build integration

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

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

	w := newFelixWriter(filepath.Join(dir, "flowlogs"), seed, 128<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	written := make(chan error, 1)
	go func() { written <- w.run(ctx, 16) }()

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
	dropSentinelBucket(t, want)
	t.Logf("%s: offline run: %d documents to find in Kafka", since(begin), len(want))

	tr := &topicReader{brokers: brokers, topic: env["IT_TOPIC_FLOWS"], docs: map[string]any{}}
	waitDelivered(t, c, tr, want, drainTarget{
		positions: filepath.Join(dir, "state", "flows.positions.json"),
		rotated:   w.rotated, live: w.live(), liveFloor: w.liveFloor, sentinel: w.sentinel,
	})
	c.stop(t)
	tr.poll(t)
	t.Logf("%s: drained; kafka: %d messages, %d duplicates by id, %d documents; offline: %d documents (sentinel bucket left out)",
		since(begin), tr.messages, tr.duplicates, len(tr.docs), len(want))
	compareDocs(t, tr.docs, want)
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

// workDir returns the test's directory: FLOWSHIP_TEST_KEEP (kept) or a
// temporary one, with the state directory created.
func workDir(t *testing.T) string {
	dir := os.Getenv("FLOWSHIP_TEST_KEEP")
	if dir == "" {
		dir = t.TempDir()
	} else {
		if err := os.RemoveAll(dir); err != nil {
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
		"IT_DIR": dir, "IT_BROKERS": strings.Join(brokers, ","), "IT_DEAD_LETTER": deadLetter,
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
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
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
	c := &collector{log: filepath.Join(dir, "logs", fmt.Sprintf("collect-%02d.log", n)), exited: make(chan struct{})}
	f, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c.cmd = flowshipCmd(bin, env, "collect")
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

// drainTarget says what the positions file holds once the collector has
// delivered all it can: every rotated file acknowledged to its end, and
// the live file at least to where the last window's lines begin
// (liveFloor) and never past the sentinel, the last line. The sentinel
// opens a bucket ten windows ahead: its watermark closes every earlier
// bucket, while it stays open itself (a bucket is flushed once event time
// has passed it), and so does the batch it was read in, which may hold
// lines of the last window too.
type drainTarget struct {
	positions string
	rotated   []string
	live      string
	liveFloor int64
	sentinel  int64
}

// waitDelivered waits until every document in want is in the topic and
// the positions file has reached the drain target.
func waitDelivered(t *testing.T, c *collector, tr *topicReader, want map[string]any, dt drainTarget) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		tr.poll(t)
		missing := 0
		for id := range want {
			if _, ok := tr.docs[id]; !ok {
				missing++
			}
		}
		report, done := dt.check()
		if missing == 0 && done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("60s after the writer finished, %d of %d documents are not in Kafka; positions (file: acknowledged, want):\n%s\ncollector log:\n%s",
				missing, len(want), report, tail(c.log, 30))
		}
		select {
		case <-c.exited:
			t.Fatalf("collector exited while draining: %v\n%s", c.err, tail(c.log, 30))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// check compares the positions file with the target.
func (dt drainTarget) check() (string, bool) {
	var doc struct {
		Files []struct {
			Inode  uint64 `json:"inode"`
			Offset int64  `json:"offset"`
		} `json:"files"`
	}
	b, err := os.ReadFile(dt.positions)
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
	for _, f := range append(slices.Clone(dt.rotated), dt.live) {
		fi, err := os.Stat(f)
		if err != nil {
			return err.Error(), false
		}
		lo, hi := fi.Size(), fi.Size()
		if f == dt.live {
			lo, hi = dt.liveFloor, fi.Size()-dt.sentinel
		}
		got, ok := acked[fi.Sys().(*syscall.Stat_t).Ino]
		if !ok || got < lo || got > hi {
			done = false
			fmt.Fprintf(&report, "  %s: %d (listed %v), want %d..%d\n", filepath.Base(f), got, ok, lo, hi)
		}
	}
	return report.String(), done
}

// topicReader reads every partition of a topic from its first offset,
// on, and keeps the documents by id. Copies of one id must be identical
// and carry the id in flowship.id too.
type topicReader struct {
	brokers    []string
	topic      string
	next       map[int]int64 // partition → next offset
	docs       map[string]any
	messages   int
	duplicates int
}

// poll reads every partition up to its current high-water mark.
func (tr *topicReader) poll(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := kafkago.DialContext(ctx, "tcp", tr.brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(tr.topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	if tr.next == nil {
		tr.next = map[int]int64{}
	}
	for _, p := range parts {
		for _, m := range tr.readPartition(ctx, t, p.ID) {
			tr.messages++
			id, doc := messageDoc(t, m)
			if prev, dup := tr.docs[id]; dup {
				tr.duplicates++
				if !reflect.DeepEqual(prev, doc) {
					t.Errorf("id %s: copies differ (a replay rebuilt the document differently):\nfirst: %s\nlater: %s",
						id, mustJSON(prev), m.Value)
				}
				continue
			}
			tr.docs[id] = doc
		}
	}
}

func (tr *topicReader) readPartition(ctx context.Context, t *testing.T, part int) []kafkago.Message {
	t.Helper()
	lc, err := kafkago.DialLeader(ctx, "tcp", tr.brokers[0], tr.topic, part)
	if err != nil {
		t.Fatal(err)
	}
	first, last, err := lc.ReadOffsets()
	lc.Close()
	if err != nil {
		t.Fatal(err)
	}
	from, seen := tr.next[part]
	if !seen {
		from = first
	}
	if from >= last {
		return nil
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: tr.brokers, Topic: tr.topic, Partition: part, MaxBytes: 10 << 20})
	defer r.Close()
	if err := r.SetOffset(from); err != nil {
		t.Fatal(err)
	}
	var out []kafkago.Message
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("reading %s/%d from %d to %d: %v", tr.topic, part, from, last, err)
		}
		out = append(out, m)
		if m.Offset+1 >= last {
			tr.next[part] = last
			return out
		}
	}
}

// messageDoc returns the id header and the parsed value of m.
func messageDoc(t *testing.T, m kafkago.Message) (string, any) {
	t.Helper()
	var id string
	for _, h := range m.Headers {
		if h.Key == kafka.HeaderID {
			id = string(h.Value)
		}
	}
	doc, docID := parseDoc(t, m.Value)
	if id == "" || id != docID {
		t.Fatalf("message %d/%d: id header %q, flowship.id %q", m.Partition, m.Offset, id, docID)
	}
	return id, doc
}

// parseDoc parses a document (numbers kept exact) and returns its
// flowship.id.
func parseDoc(t *testing.T, b []byte) (any, string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("document does not parse: %v\n%s", err, b)
	}
	meta, _ := doc["flowship"].(map[string]any)
	id, _ := meta["id"].(string)
	return doc, id
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// aggregateOffline runs `flowship aggregate` over files in rotation order
// with the collector's config and returns its documents by id and the
// bad lines it counted.
func aggregateOffline(t *testing.T, bin string, env map[string]string, files []string) (map[string]any, int64) {
	t.Helper()
	cmd := flowshipCmd(bin, env, "aggregate")
	cmd.Args = append(cmd.Args, files...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("flowship aggregate: %v\n%s", err, stderr.String())
	}
	docs := map[string]any{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		doc, id := parseDoc(t, sc.Bytes())
		if _, dup := docs[id]; dup || id == "" {
			t.Fatalf("offline run: id %q twice or empty", id)
		}
		docs[id] = doc
	}
	return docs, summaryBad(t, stderr.String())
}

// summaryBad reads the bad-line count of the flows row of the summary.
func summaryBad(t *testing.T, summary string) int64 {
	t.Helper()
	for _, line := range strings.Split(summary, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "flows" {
			n, err := strconv.ParseInt(f[3], 10, 64)
			if err == nil {
				return n
			}
		}
	}
	t.Fatalf("no flows row in the aggregate summary:\n%s", summary)
	return 0
}

// dropSentinelBucket removes the documents of the newest bucket from the
// offline documents: it must hold the sentinel line alone, and the
// collector rightly keeps it open.
func dropSentinelBucket(t *testing.T, want map[string]any) {
	t.Helper()
	newest, n := "", 0
	for _, d := range want {
		newest = max(newest, bucketStart(d))
	}
	for id, d := range want {
		if bucketStart(d) == newest {
			n++
			delete(want, id)
		}
	}
	if n != 1 {
		t.Errorf("offline run: %d documents in the newest bucket %s, want 1 (the sentinel line)", n, newest)
	}
}

// compareDocs checks got (from Kafka) against want (offline).
func compareDocs(t *testing.T, got, want map[string]any) {
	t.Helper()
	var missing, extra, differ []string
	for id, w := range want {
		g, ok := got[id]
		switch {
		case !ok:
			missing = append(missing, id+" "+describe(w))
		case !reflect.DeepEqual(g, w):
			differ = append(differ, fmt.Sprintf("%s\n    kafka:   %s\n    offline: %s", id, mustJSON(g), mustJSON(w)))
		}
	}
	for id, g := range got {
		if _, ok := want[id]; !ok {
			extra = append(extra, id+" "+describe(g))
		}
	}
	report := func(what string, ids []string) {
		if len(ids) > 0 {
			slices.Sort(ids)
			t.Errorf("%d documents %s, e.g.:\n  %s", len(ids), what, strings.Join(ids[:min(5, len(ids))], "\n  "))
		}
	}
	report("lost (offline has them, Kafka does not)", missing)
	report("extra (in Kafka, not offline: counted twice or in a wrong part)", extra)
	report("differ between Kafka and offline", differ)
}

func bucketStart(doc any) string {
	meta, _ := doc.(map[string]any)["flowship"].(map[string]any)
	n, _ := meta["bucket_start"].(json.Number)
	return fmt.Sprintf("%020s", n)
}

// describe names a document's bucket, part and size for failure reports.
func describe(doc any) string {
	meta, _ := doc.(map[string]any)["flowship"].(map[string]any)
	return fmt.Sprintf("bucket_start=%v records=%v", meta["bucket_start"], meta["records"])
}

// checkBadLines checks that the collector dead-lettered exactly the bad
// lines the writer mixed in (each at least once: replays repeat them) and
// that the offline run counted each once.
func checkBadLines(t *testing.T, deadLetter string, injected []string, offlineBad int64) {
	t.Helper()
	if offlineBad != int64(len(injected)) {
		t.Errorf("offline run counted %d bad lines, the writer mixed in %d", offlineBad, len(injected))
	}
	b, err := os.ReadFile(deadLetter)
	if err != nil {
		t.Fatalf("collector dead-letter log: %v", err)
	}
	seen := map[string]int{}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var e struct {
			Raw string `json:"raw"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("dead-letter log line %q: %v", line, err)
		}
		seen[e.Raw]++
	}
	for _, bad := range injected {
		if seen[bad] == 0 {
			t.Errorf("bad line %q is not in the collector's dead-letter log", bad)
		}
		delete(seen, bad)
	}
	for raw := range seen {
		t.Errorf("dead-letter log holds %q, which the writer did not write as a bad line", raw)
	}
	t.Logf("bad lines: %d mixed in, all dead-lettered by the collector and counted by the offline run", len(injected))
}
