//go:build integration

package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
	"github.com/flowship/flowship/schema/synth"
)

// TestCollectKafkaRotatedWhileStopped covers issue 13 §1 and §3 on the
// real broker: Felix (or logrotate) rotates flows.log while collect is
// stopped — a rolling update, a crash, a node drain — and the restarted
// collector must deliver exactly what `flowship aggregate` makes of the
// same files: a new file at an old path is never skipped as "already
// delivered", the unread rest of a rotated file is read, and one inode
// under two names is read once. Each case runs collect, stops it
// (SIGTERM once Kafka has everything, or SIGKILL mid-read), changes the
// files, starts collect again and compares the topic with the offline
// run. One case rotates with copytruncate while collect runs, to a name
// the patterns match: the copy must not be read again from its start.
func TestCollectKafkaRotatedWhileStopped(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	bin := buildFlowship(t)
	type step func(t *testing.T, fs *flowFiles)
	rename := func(t *testing.T, fs *flowFiles) { fs.rename(t) }
	copytruncate := func(t *testing.T, fs *flowFiles) { fs.copyTruncate(t) }
	window := func(t *testing.T, fs *flowFiles) { fs.window(t) }
	symlink := func(t *testing.T, fs *flowFiles) { fs.renameAndLink(t, true) }
	hardlink := func(t *testing.T, fs *flowFiles) { fs.renameAndLink(t, false) }
	cases := []struct {
		name    string
		kill    bool // SIGKILL mid-read instead of SIGTERM once delivered
		running bool // the steps happen while collect runs (no restart)
		// while stopped
		steps []step
	}{
		{"copytruncate while running", false, true, []step{window, copytruncate, window}},
		{"rename", false, false, []step{rename, window}},
		{"rename twice", false, false, []step{rename, window, rename, window}},
		{"copytruncate", false, false, []step{copytruncate, window}},
		{"lines appended, copytruncate, more lines", false, false, []step{window, copytruncate, window}},
		{"rename after SIGKILL", true, false, []step{rename, window}},
		{"copytruncate after SIGKILL", true, false, []step{copytruncate, window}},
		{"rename and symlink after SIGKILL", true, false, []step{symlink}},
		{"hard link after SIGKILL", true, false, []step{hardlink, window}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			begin := time.Now()
			seed := testSeed(t) + uint64(i)
			rng := rand.New(rand.NewPCG(seed, 3))
			dir := workDir(t)
			env := collectEnv(t, dir, brokers, filepath.Join(dir, "state", "bad-lines.jsonl"))
			positions := filepath.Join(dir, "state", "flows.positions.json")
			fs := newFlowFiles(filepath.Join(dir, "flowlogs"), seed)
			tr := &topicReader{brokers: brokers, topic: env["IT_TOPIC_FLOWS"], docs: map[string]any{}}
			waitLeaders(t, brokers[0], tr.topic)

			fs.window(t)
			if tc.kill {
				fs.window(t) // more to read, so the kill lands mid-read
			}
			c := startCollector(t, bin, dir, env, 0)
			switch {
			case tc.kill:
				time.Sleep(randDuration(rng, 300*time.Millisecond, 1500*time.Millisecond))
				c.kill(t)
			default:
				want, _ := aggregateOffline(t, bin, env, fs.files())
				waitDelivered(t, c, tr, want, positions, fs.files())
				if !tc.running {
					c.stop(t)
				}
			}
			for _, s := range tc.steps {
				s(t, fs)
			}
			if !tc.running {
				c = startCollector(t, bin, dir, env, 1)
			}
			want, _ := aggregateOffline(t, bin, env, fs.files())
			waitDelivered(t, c, tr, want, positions, fs.files())
			c.stop(t)
			tr.poll(t)
			t.Logf("%s: files %v; kafka: %d messages, %d duplicates by id, %d documents; offline: %d documents",
				since(begin), fs.names(), tr.messages, tr.duplicates, len(tr.docs), len(want))
			compareDocs(t, dir, tr.docs, want)
		})
	}
}

// waitLeaders waits until every partition of a new topic has a leader
// that answers, so the topic reader does not fail on a fresh topic.
func waitLeaders(t *testing.T, broker, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := leadersReady(ctx, broker, topic)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("topic %s: partitions without a leader after 30s: %v", topic, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func leadersReady(ctx context.Context, broker, topic string) error {
	conn, err := kafkago.DialContext(ctx, "tcp", broker)
	if err != nil {
		return err
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return err
	}
	for _, p := range parts {
		lc, err := kafkago.DialLeader(ctx, "tcp", broker, topic, p.ID)
		if err != nil {
			return err
		}
		_, _, err = lc.ReadOffsets()
		lc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// flowFiles writes whole 5-minute Felix windows of flow lines to
// dir/flows.log and rotates it by hand, keeping the list of files in
// reading order for the offline run.
type flowFiles struct {
	dir     string
	gen     *synth.Generator
	rotated []string // oldest first
	end     time.Time
	n       int
}

func newFlowFiles(dir string, seed uint64) *flowFiles {
	cfg := synth.DefaultConfig()
	cfg.Seed = seed
	cfg.Namespaces, cfg.Workloads, cfg.Nodes = 6, 40, 4
	cfg.FlowsPerWindow = 300
	cfg.Windows = 0
	return &flowFiles{dir: dir, gen: synth.New(cfg)}
}

func (fs *flowFiles) live() string { return filepath.Join(fs.dir, "flows.log") }

// files lists what the offline run reads: rotated files, then the live
// file unless it is only a second name of a rotated one.
func (fs *flowFiles) files() []string {
	out := slices.Clone(fs.rotated)
	if fi, err := os.Stat(fs.live()); err == nil {
		for _, r := range fs.rotated {
			if ri, err := os.Stat(r); err == nil && os.SameFile(fi, ri) {
				return out
			}
		}
		out = append(out, fs.live())
	}
	return out
}

func (fs *flowFiles) names() []string {
	var out []string
	for _, f := range fs.files() {
		out = append(out, filepath.Base(f))
	}
	return out
}

// window appends the next window's lines to the live file.
func (fs *flowFiles) window(t *testing.T) {
	t.Helper()
	w := fs.gen.Next(pipeline.KindFlow)
	fs.end = w.End
	f, err := os.OpenFile(fs.live(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range w.Flows {
		if _, err := f.Write(l); err != nil {
			t.Fatal(err)
		}
	}
}

// rotatedName returns a new lumberjack-style name for a rotated file.
func (fs *flowFiles) rotatedName() string {
	fs.n++
	return filepath.Join(fs.dir, fmt.Sprintf("flows-%s.%03d.log", fs.end.UTC().Format("2006-01-02T15-04-05"), fs.n))
}

// rename rotates the way lumberjack does: the live file is renamed; the
// next write creates a new one.
func (fs *flowFiles) rename(t *testing.T) {
	t.Helper()
	name := fs.rotatedName()
	if err := os.Rename(fs.live(), name); err != nil {
		t.Fatal(err)
	}
	fs.rotated = append(fs.rotated, name)
}

// copyTruncate rotates the way logrotate's copytruncate does: the live
// file is copied to the rotated name, then truncated in place.
func (fs *flowFiles) copyTruncate(t *testing.T) {
	t.Helper()
	name := fs.rotatedName()
	src, err := os.Open(fs.live())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(fs.live(), 0); err != nil {
		t.Fatal(err)
	}
	fs.rotated = append(fs.rotated, name)
}

// renameAndLink renames the live file and puts a second name for it at
// the live path: `mv flows.log flows-rot.log; ln -s flows-rot.log
// flows.log` (or a hard link).
func (fs *flowFiles) renameAndLink(t *testing.T, symbolic bool) {
	t.Helper()
	fs.rename(t)
	name := fs.rotated[len(fs.rotated)-1]
	var err error
	if symbolic {
		err = os.Symlink(filepath.Base(name), fs.live())
	} else {
		err = os.Link(name, fs.live())
	}
	if err != nil {
		t.Fatal(err)
	}
}
