package filetail

import (
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

// files returns the distinct Record.File values of recs, in order.
func files(recs []pipeline.Record) []string {
	var out []string
	for _, r := range recs {
		if r.File == "" {
			return append(out, "<empty>")
		}
		if len(out) == 0 || out[len(out)-1] != r.File {
			out = append(out, r.File)
		}
	}
	return out
}

// readFirst writes lines a0..a<n-1> to flows.log in a new directory,
// starts a tailer on it and waits until it has read them.
func readFirst(t *testing.T, n int) (dir string, cfg Config, live string, sink *pipelinetest.Sink, r *run) {
	t.Helper()
	dir = t.TempDir()
	cfg = testConfig(dir)
	live = filepath.Join(dir, "flows.log")
	appendFile(t, live, numbered("a", 0, n))
	sink = &pipelinetest.Sink{}
	r = start(t, cfg, sink)
	waitFor(t, "first lines", func() bool { return len(sink.Records()) == n })
	return dir, cfg, live, sink, r
}

// TestRotationWhileStopped: lines are appended after the last run, then
// the file is rotated while the tailer is stopped, then new lines are
// written at the path the saved position named, at the same offsets:
//
//   - rename: the file is renamed, a new one created at the old path;
//   - copytruncate: the file is copied to a rotated name and truncated.
//
// The old file (or its copy) goes on at the saved offset with the
// original's identity (Record.File); the new lines carry another: the
// aggregator skips replayed lines by identity and offset.
func TestRotationWhileStopped(t *testing.T) {
	const rotated = "flows-2025-06-10T08-15-02.417.log"
	for _, tc := range []struct {
		name    string
		rotate  func(t *testing.T, live, rotated string)
		wantLog []string // a log line that must appear once, nil for none
	}{
		{"rename", func(t *testing.T, live, rotated string) {
			if err := os.Rename(live, rotated); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"copytruncate", func(t *testing.T, live, rotated string) {
			copyFile(t, live, rotated)
			if err := os.Truncate(live, 0); err != nil {
				t.Fatal(err)
			}
		}, []string{"copy of one read before", rotated}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, cfg, live, s1, r1 := readFirst(t, 10)
			r1.stop(t)
			old := files(s1.Records())
			if len(old) != 1 || old[0] == "<empty>" {
				t.Fatalf("identities of one file = %q, want one", old)
			}
			if k := readPositions(t, cfg.PositionsFile).Files[0].Key; k != old[0] {
				t.Fatalf("positions key = %q, want the lines' identity %q", k, old[0])
			}

			appendFile(t, live, numbered("a", 10, 15))
			tc.rotate(t, live, filepath.Join(dir, rotated))
			appendFile(t, live, numbered("b", 0, 5))
			s2 := &pipelinetest.Sink{}
			r2 := start(t, cfg, s2)
			waitFor(t, "second run", func() bool { return len(s2.Records()) >= 10 })
			wantLines(t, s2.Records(), numbered("a", 10, 15)+numbered("b", 0, 5))
			got := files(s2.Records())
			if len(got) != 2 || got[0] != old[0] || got[1] == old[0] {
				t.Fatalf("identities after the restart = %q, want [%q, another]", got, old[0])
			}
			if first := s2.Records()[5]; first.Source != live || first.Offset != 0 {
				t.Fatalf("first line of the new file from %s@%d", first.Source, first.Offset)
			}
			if tc.wantLog != nil {
				if n := len(r2.logs.lines(tc.wantLog...)); n != 1 {
					t.Fatalf("%d log lines with %q, want 1", n, tc.wantLog)
				}
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSecondNameIsReadOnce: at the first scan one file has two names
// (`mv flows.log flows-rot.log; ln -s flows-rot.log flows.log`, or a
// hard link): its lines are read once, then the run is stopped so no
// later batch can still arrive.
func TestSecondNameIsReadOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		link func(oldname, newname string) error
	}{
		{"symlink", func(o, n string) error { return os.Symlink(filepath.Base(o), n) }},
		{"hard link", os.Link},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			rot := filepath.Join(dir, "flows-rot.log")
			appendFile(t, rot, numbered("x", 0, 50))
			if err := tc.link(rot, filepath.Join(dir, "flows.log")); err != nil {
				t.Fatal(err)
			}
			sink := &pipelinetest.Sink{}
			r := start(t, cfg, sink)
			waitFor(t, "lines", func() bool { return len(sink.Records()) >= 50 })
			waitFor(t, "positions", func() bool {
				doc, _ := loadPositions(cfg.PositionsFile, "flows")
				return doc != nil && len(doc.Files) > 0 && doc.Files[0].Offset == 50*9
			})
			r.stop(t)
			wantLines(t, sink.Records(), numbered("x", 0, 50))
			if doc := readPositions(t, cfg.PositionsFile); len(doc.Files) != 1 {
				t.Fatalf("positions hold %d files, want 1", len(doc.Files))
			}
		})
	}
}

// TestUnreadableFileIsLoggedCountedAndRetried: a file that cannot be
// opened (permissions; simulated, since tests may run as root) is
// counted on every attempt, shown in the unreadable-files gauge, logged
// once naming the file (rate-limited) and read once it can be.
func TestUnreadableFileIsLoggedCountedAndRetried(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	live := filepath.Join(dir, "flows.log")
	appendFile(t, live, numbered("x", 0, 3))
	var allowed atomic.Bool
	sink := &pipelinetest.Sink{}
	r := startWith(t, cfg, sink, func(tl *Tailer) {
		tl.openFile = func(p string) (*os.File, error) {
			if !allowed.Load() {
				return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
			}
			return os.Open(p)
		}
	})
	waitFor(t, "retries", func() bool {
		return r.counter(t, "flowship_filetail_file_errors_total", attribute.String("op", opOpen)) >= 5
	})
	if n := r.counter(t, "flowship_filetail_unreadable_files"); n != 1 {
		t.Fatalf("unreadable files = %d, want 1", n)
	}
	if got := r.logs.lines("cannot open file", live, "permission denied"); len(got) != 1 {
		t.Fatalf("%d log lines naming the file, want 1 (rate-limited):\n%s", len(got), strings.Join(got, "\n"))
	}
	if len(sink.Records()) != 0 {
		t.Fatal("lines read from a file that could not be opened")
	}
	allowed.Store(true)
	waitFor(t, "lines once readable", func() bool { return len(sink.Records()) == 3 })
	waitFor(t, "gauge back to 0", func() bool { return r.counter(t, "flowship_filetail_unreadable_files") == 0 })
	if got := r.logs.lines("file readable again", live); len(got) != 1 {
		t.Fatalf("%d 'readable again' lines, want 1", len(got))
	}
}

// TestSavedOffsetBeyondSizeIsCountedAndReadAgain: the saved position of
// a file whose first bytes are unchanged lies past its end (rewritten in
// place while stopped): it is read from the start, logged and counted.
func TestSavedOffsetBeyondSizeIsCountedAndReadAgain(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	live := filepath.Join(dir, "flows.log")
	content := numbered("x", 0, 4)
	appendFile(t, live, content)
	fi, err := os.Stat(live)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := statID(fi)
	fp, _, _ := fingerprintOf(strings.NewReader(content), int64(len(content)))
	doc := positionsDoc{Version: 1, Kind: "flows", Files: []filePosition{{
		Path: live, Dev: id.Dev, Inode: id.Inode, Fingerprint: fp.String(),
		FingerprintBytes: fp.Len, Offset: int64(len(content)) + 100, Line: 20,
	}}}
	data, _ := json.Marshal(doc)
	if err := writeAtomic(cfg.PositionsFile, data); err != nil {
		t.Fatal(err)
	}
	sink := &pipelinetest.Sink{}
	r := start(t, cfg, sink)
	waitFor(t, "lines", func() bool { return len(sink.Records()) == 4 })
	wantLines(t, sink.Records(), content)
	if n := r.counter(t, "flowship_filetail_position_resets_total", attribute.String("reason", resetBeyondSize)); n != 1 {
		t.Fatalf("position resets = %d, want 1", n)
	}
	if k, _ := fileKey(id, strings.NewReader(content)); sink.Records()[0].File == k || sink.Records()[0].File == "" {
		t.Fatalf("identity after the reset = %q, want a new one (not %q)", sink.Records()[0].File, k)
	}
	if got := r.logs.lines("beyond the end of the file", live); len(got) != 1 {
		t.Fatalf("%d log lines about the reset, want 1", len(got))
	}
}

// TestCopyTruncateWhileRunningGoesOnInTheCopy: logrotate's copytruncate
// under a name the patterns match, while the tailer runs: the copy is
// not read again from its start (it holds what was already read); the
// tailer goes on in it where it was in the original, then reads the
// truncated file's new lines. Every line exactly once.
func TestCopyTruncateWhileRunningGoesOnInTheCopy(t *testing.T) {
	dir, cfg, live, sink, r := readFirst(t, 100)
	appendFile(t, live, numbered("a", 100, 150))
	copyFile(t, live, filepath.Join(dir, "flows-2025-06-10T08-15-02.417.log"))
	if err := os.Truncate(live, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, numbered("b", 0, 20))
	waitFor(t, "all lines", func() bool { return len(sink.Records()) >= 170 })
	waitFor(t, "positions", func() bool {
		doc, _ := loadPositions(cfg.PositionsFile, "flows")
		return doc != nil && len(doc.Files) == 2 && doc.Files[1].Offset == 20*9
	})
	r.stop(t)
	wantLines(t, sink.Records(), numbered("a", 0, 150)+numbered("b", 0, 20))
}
