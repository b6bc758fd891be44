package filetail

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

// rotatingWriter appends whole lines to dir/flows.log and rotates it the
// way lumberjack does: rename to flows-<time>.log, then a new flows.log.
type rotatingWriter struct {
	dir     string
	maxSize int
	f       *os.File
	size    int
	n       int
}

func (w *rotatingWriter) write(b []byte) error {
	if w.f != nil && w.size+len(b) > w.maxSize {
		w.f.Close()
		w.n++
		name := fmt.Sprintf("flows-2025-06-10T08-15-%02d.%03d.log", w.n/1000, w.n%1000)
		if err := os.Rename(filepath.Join(w.dir, "flows.log"), filepath.Join(w.dir, name)); err != nil {
			return err
		}
		w.f = nil
	}
	if w.f == nil {
		f, err := os.OpenFile(filepath.Join(w.dir, "flows.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		w.f, w.size = f, 0
	}
	n, err := w.f.Write(b)
	w.size += n
	return err
}

func TestStressRotationAndRestartEveryLineOnceInOrder(t *testing.T) {
	const total = 30000
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.BatchLines = 97
	cfg.MaxInflightBatches = 2
	w := &rotatingWriter{dir: dir, maxSize: 64 << 10}
	done := make(chan error, 1)
	go func() {
		var buf []byte
		for i := 0; i < total; i++ {
			buf = fmt.Appendf(buf, `{"seq":%d,"pad":"%s"}`+"\n", i, strings.Repeat("p", i%50))
			if len(buf) > 4000 || i == total-1 { // bursts, like Felix's buffered flushes
				if err := w.write(buf); err != nil {
					done <- err
					return
				}
				buf = buf[:0]
				if i%20 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}
		w.f.Close()
		done <- nil
	}()

	s1 := &pipelinetest.Sink{}
	r1 := start(t, cfg, s1)
	waitFor(t, "a third of the lines", func() bool { return len(s1.Records()) >= total/3 })
	r1.stop(t)
	s2 := &pipelinetest.Sink{}
	r2 := start(t, cfg, s2)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every line", func() bool { return len(s1.Records())+len(s2.Records()) >= total })
	r2.stop(t) // after Run returns no batch can arrive: a duplicate would be counted now
	all := append(s1.Records(), s2.Records()...)
	if len(all) != total {
		t.Fatalf("got %d lines, want %d", len(all), total)
	}
	if w.n < 5 {
		t.Fatalf("only %d rotations; the test did not exercise rotation", w.n)
	}
	checkSequence(t, all)
}

// checkSequence asserts records carry seq 0..n-1 in order, and that
// offsets grow within each file.
func checkSequence(t *testing.T, recs []pipeline.Record) {
	t.Helper()
	last := map[string]int64{}
	for i, r := range recs {
		v := string(r.Value)
		j := strings.Index(v, ",")
		seq, err := strconv.Atoi(strings.TrimPrefix(v[:max(j, 0)], `{"seq":`))
		if err != nil || seq != i {
			t.Fatalf("record %d is %q (from %s@%d), want seq %d", i, v, r.Source, r.Offset, i)
		}
		if o, ok := last[r.Source]; ok && r.Offset <= o && !strings.HasSuffix(r.Source, "flows.log") {
			t.Fatalf("offsets in %s not increasing: %d after %d", r.Source, r.Offset, o)
		}
		last[r.Source] = r.Offset
	}
}
