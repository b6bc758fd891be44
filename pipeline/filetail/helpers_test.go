package filetail

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.uber.org/goleak"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig tails dir/flows.log and its rotated names with fast timers.
func testConfig(dir string) Config {
	c := DefaultConfig()
	c.Paths = []string{filepath.Join(dir, "flows.log"), filepath.Join(dir, "flows-*.log")}
	c.PositionsFile = filepath.Join(dir, "state", "flows.positions.json")
	c.PollInterval = 2 * time.Millisecond
	c.Linger = 2 * time.Millisecond
	c.PositionsInterval = 5 * time.Millisecond
	c.DrainTimeout = 2 * time.Second
	return c
}

// run is a Tailer running in the background.
type run struct {
	t      *Tailer
	cancel context.CancelFunc
	done   chan error
	reader *sdkmetric.ManualReader
	logs   *logBuffer
}

// logBuffer collects log output; safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the log lines that contain every one of subs.
func (l *logBuffer) lines(subs ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
next:
	for _, line := range strings.Split(l.b.String(), "\n") {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

func start(t *testing.T, cfg Config, next pipeline.Consumer) *run {
	t.Helper()
	return startWith(t, cfg, next, nil)
}

// startWith is start with setup applied to the Tailer before Run; the
// run's log lines are kept in run.logs.
func startWith(t *testing.T, cfg Config, next pipeline.Consumer, setup func(*Tailer)) *run {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tel := pipeline.NopTelemetry()
	tel.Meter = mp.Meter("test")
	logs := &logBuffer{}
	tel.Logger = slog.New(slog.NewTextHandler(logs, nil))
	tl, err := New(cfg, tel, next)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if setup != nil {
		setup(tl)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{t: tl, cancel: cancel, done: make(chan error, 1), reader: reader, logs: logs}
	go func() { r.done <- tl.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends the run once and checks it ended cleanly.
func (r *run) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// counter sums the metric name over data points whose attributes include attr (if set).
func (r *run) counter(t *testing.T, name string, attr ...attribute.KeyValue) int64 {
	t.Helper()
	return pipelinetest.MetricSum(t, r.reader, name, attr...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// numbered returns lines "<prefix>-<i>" for i in [from, to), each with a newline.
func numbered(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "%s-%06d\n", prefix, i)
	}
	return b.String()
}

func values(recs []pipeline.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

func wantLines(t *testing.T, got []pipeline.Record, want string) {
	t.Helper()
	w := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	g := values(got)
	if len(g) != len(w) {
		t.Fatalf("got %d lines, want %d\ngot:  %q\nwant: %q", len(g), len(w), head(g), head(w))
	}
	for i := range w {
		if g[i] != w[i] {
			t.Fatalf("line %d = %q, want %q", i, g[i], w[i])
		}
	}
}

func head(s []string) []string {
	if len(s) > 8 {
		return append(s[:8:8], "…")
	}
	return s
}

func readPositions(t *testing.T, path string) positionsDoc {
	t.Helper()
	doc, err := loadPositions(path, "flows")
	if err != nil || doc == nil {
		t.Fatalf("load positions %s: %v (nil=%v)", path, err, doc == nil)
	}
	return *doc
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	id, err := statID(fi)
	if err != nil {
		t.Fatal(err)
	}
	return id.Inode
}
