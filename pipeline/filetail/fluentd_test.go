package filetail

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline/pipelinetest"
)

func TestImportFluentdPos(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Position
		wantErr string
	}{
		{"one entry", "/var/log/calico/flowlogs/flows.log\t00000000000004d2\t0000000000a1b2c3\n",
			[]Position{{"/var/log/calico/flowlogs/flows.log", 1234, 0xa1b2c3}}, ""},
		{"unwatched left out", "/a\tffffffffffffffff\t0000000000000001\n/b\t0000000000000010\t0000000000000002\n",
			[]Position{{"/b", 16, 2}}, ""},
		{"last entry per path and inode wins", "/a\t0000000000000001\t0000000000000007\n/a\t0000000000000009\t0000000000000008\n/a\t0000000000000005\t0000000000000007\n",
			[]Position{{"/a", 5, 7}, {"/a", 9, 8}}, ""},
		{"blank lines and CRLF", "\n/a\t0000000000000001\t0000000000000002\r\n\n", []Position{{"/a", 1, 2}}, ""},
		{"empty file", "", nil, ""},
		{"two fields", "/a\t0000000000000001\n", nil, "line 1: want 3 tab-separated fields"},
		{"bad offset", "/a\t00000000000000zz\t0000000000000001\n", nil, `line 1: offset "00000000000000zz" is not hex`},
		{"bad inode", "/ok\t0000000000000001\t0000000000000001\n/a\t0000000000000001\tnope\n", nil, `line 2: inode "nope" is not hex`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "flows.log.pos")
			if err := os.WriteFile(p, []byte(tc.in), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ImportFluentdPos(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), p) {
					t.Fatalf("err = %v, want it to name %s and say %q", err, p, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestImportFluentdPosMissingFile(t *testing.T) {
	if _, err := ImportFluentdPos(filepath.Join(t.TempDir(), "none.pos")); err == nil {
		t.Fatal("no error for a missing file")
	}
}

func TestAppendFluentdPosFormat(t *testing.T) {
	got := string(AppendFluentdPos(nil, Position{Path: "/var/log/calico/flowlogs/flows.log", Offset: 8191, Inode: 1<<40 + 5}))
	if want := "/var/log/calico/flowlogs/flows.log\t0000000000001fff\t0000010000000005\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func FuzzFluentdPosLine(f *testing.F) {
	f.Add("/var/log/calico/flows.log\t00000000000004d2\t0000000000a1b2c3")
	f.Add("/a\tffffffffffffffff\t0000000000000001")
	f.Add("\t\t")
	f.Fuzz(func(t *testing.T, line string) {
		p, unwatched, err := parseFluentdPosLine(line)
		if err != nil || unwatched || strings.ContainsAny(p.Path, "\t\n") {
			return
		}
		again, _, err := parseFluentdPosLine(strings.TrimSuffix(string(AppendFluentdPos(nil, p)), "\n"))
		if err != nil || again != p {
			t.Fatalf("round trip of %+v gave %+v, %v", p, again, err)
		}
	})
}

func TestFluentdPosExportFollowsAcks(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.FluentdPosFile = filepath.Join(dir, "flows.log.pos")
	live := filepath.Join(dir, "flows.log")
	appendFile(t, live, numbered("x", 0, 10))
	rotated := filepath.Join(dir, "flows-2025-06-10T08-15-02.417.log")
	appendFile(t, rotated, numbered("r", 0, 1))
	sink := &pipelinetest.Sink{}
	start(t, cfg, sink)
	want := fmt.Sprintf("%s\t%016x\t%016x\n", live, 90, inode(t, live))
	waitFor(t, "fluentd pos with the acked offset", func() bool {
		got, _ := os.ReadFile(cfg.FluentdPosFile)
		return string(got) == want
	})
	// The export is what ImportFluentdPos reads back: one entry, live file only.
	ps, err := ImportFluentdPos(cfg.FluentdPosFile)
	if err != nil || len(ps) != 1 || ps[0].Offset != 90 {
		t.Fatalf("read back %+v, %v", ps, err)
	}
}

// TestSwitchFromFluentd: fluentd stopped at line 4 of a file that has
// since been rotated; a newer live file exists, and an older rotated file
// fluentd had finished. Every line fluentd did not read is read once.
func TestSwitchFromFluentd(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.ImportFluentdPos = filepath.Join(dir, "flows.log.pos")
	cfg.FluentdPosFile = cfg.ImportFluentdPos // keep Felix dynamic aggregation fed
	live := filepath.Join(dir, "flows.log")
	older := filepath.Join(dir, "flows-2025-06-10T08-00-00.000.log")
	appendFile(t, older, numbered("done", 0, 5))
	appendFile(t, live, numbered("x", 0, 10))
	pos := AppendFluentdPos(nil, Position{Path: live, Offset: 4 * 9, Inode: inode(t, live)})
	pos = append(pos, "/var/log/calico/other.log\tffffffffffffffff\t0000000000000009\n"...)
	if err := os.WriteFile(cfg.ImportFluentdPos, pos, 0o644); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	_ = os.Chtimes(older, past, past)
	if err := os.Rename(live, filepath.Join(dir, "flows-2025-06-10T08-15-02.417.log")); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, numbered("y", 0, 3))
	sink := &pipelinetest.Sink{}
	start(t, cfg, sink)
	waitFor(t, "lines", func() bool { return len(sink.Records()) >= 9 })
	wantLines(t, sink.Records(), numbered("x", 4, 10)+numbered("y", 0, 3))
	if r := sink.Records()[0]; r.Offset != 36 || r.Line != 0 {
		t.Fatalf("first record at offset %d line %d, want 36 and 0 (unknown)", r.Offset, r.Line)
	}
	want := fmt.Sprintf("%s\t%016x\t%016x\n", live, 27, inode(t, live))
	waitFor(t, "pos file rewritten in fluentd format", func() bool {
		got, _ := os.ReadFile(cfg.FluentdPosFile)
		return string(got) == want
	})
}

func TestImportIgnoredWhenOwnPositionsExist(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	live := filepath.Join(dir, "flows.log")
	appendFile(t, live, numbered("x", 0, 6))
	s1 := &pipelinetest.Sink{}
	r1 := start(t, cfg, s1)
	waitFor(t, "lines", func() bool { return len(s1.Records()) == 6 })
	r1.stop(t)
	cfg.ImportFluentdPos = filepath.Join(dir, "flows.log.pos")
	if err := os.WriteFile(cfg.ImportFluentdPos, AppendFluentdPos(nil, Position{Path: live, Offset: 9, Inode: inode(t, live)}), 0o644); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, numbered("x", 6, 8))
	s2 := &pipelinetest.Sink{}
	start(t, cfg, s2)
	waitFor(t, "lines", func() bool { return len(s2.Records()) == 2 })
	wantLines(t, s2.Records(), numbered("x", 6, 8))
}
