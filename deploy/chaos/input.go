package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema/synth"
)

// Rotation modes.
const (
	rotRename       = "rename"       // lumberjack: flows.log -> flows-<time>.log, new flows.log
	rotCopyTruncate = "copytruncate" // logrotate: copy to flows.log.N (not watched), truncate
	rotSymlink      = "symlink"      // flows.log -> flows-<time>.log, flows.log a symlink to it
)

// kindFiles are the live file names per kind, as Felix and the L7
// collector write them (spec §1).
var kindFiles = map[pipeline.Kind]string{
	pipeline.KindFlow: "flowlogs/flows.log",
	pipeline.KindL7:   "l7logs/l7.log",
	pipeline.KindDNS:  "dnslogs/dns.log",
}

// window is one Felix flush window the campaign wrote.
type window struct {
	bucket  int64     // bucket_start of its documents (5m buckets, end_time based)
	written time.Time // wall clock of the write
	lines   int       // over all kinds
}

// input writes Felix-like windows into the watched files, rotates them,
// and appends every line it writes, in the same order, to one oracle file
// per kind outside the watched directory: the oracle holds each line once
// whatever the rotations did to the watched names, and `flowship
// aggregate` of it is the expected content of Elasticsearch.
type input struct {
	dir, oracleDir string
	bucket         time.Duration

	mu        sync.Mutex
	gen       *synth.Generator
	windows   []window
	rotations map[string]int
	copies    int
	last      time.Time // end of the last generated window
}

func newInput(dir, oracleDir string, seed uint64, flowsPerWindow int, start time.Time) (*input, error) {
	g := synth.DefaultConfig()
	g.Seed = seed
	g.Nodes = 1
	g.FlowsPerWindow = flowsPerWindow
	g.L7PerWindow, g.DNSPerWindow = flowsPerWindow/5, flowsPerWindow/5
	g.Start = start
	g.Windows = 0
	if err := g.Validate(); err != nil {
		return nil, err
	}
	for _, p := range kindFiles {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(oracleDir, 0o755); err != nil {
		return nil, err
	}
	return &input{dir: dir, oracleDir: oracleDir, bucket: 5 * time.Minute, gen: synth.New(g), rotations: map[string]int{}, last: start}, nil
}

func (in *input) live(k pipeline.Kind) string { return filepath.Join(in.dir, kindFiles[k]) }

// oracleFile is named so `flowship aggregate` tells its kind from the name.
func (in *input) oracleFile(k pipeline.Kind) string {
	return filepath.Join(in.oracleDir, filepath.Base(kindFiles[k]))
}

func (in *input) oracleFiles() []string {
	var out []string
	for _, k := range pipeline.Kinds {
		out = append(out, in.oracleFile(k))
	}
	return out
}

// writeWindow generates the next window and appends it to every live file
// (through a symlink, if the live name is one) and to the oracle. It
// refuses to write event times later than notAfter: records from the
// future are a different test.
func (in *input) writeWindow(notAfter time.Time) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.last.Add(in.bucket).After(notAfter) {
		return errInputExhausted
	}
	w := in.gen.Next()
	in.last = w.End
	n := 0
	for _, k := range pipeline.Kinds {
		var b []byte
		for _, l := range w.Lines(k) {
			b = append(b, l...)
			n++
		}
		if err := appendFile(in.live(k), b); err != nil {
			return err
		}
		if err := appendFile(in.oracleFile(k), b); err != nil {
			return err
		}
	}
	in.windows = append(in.windows, window{bucket: w.End.Unix() / 300 * 300, written: time.Now(), lines: n})
	return nil
}

var errInputExhausted = errors.New("the next window would end in the future")

func appendFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rotate rotates every kind's live file the way mode says and returns the
// mode it used: a live name that is a symlink is rotated by removing the
// link (its target already has a rotated name), whatever mode was asked.
func (in *input) rotate(mode string) (string, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	stamp := time.Now().UTC().Format("2006-01-02T15-04-05.000")
	used := mode
	for _, k := range pipeline.Kinds {
		live := in.live(k)
		base := filepath.Base(live)
		ext := filepath.Ext(base)
		rotated := filepath.Join(filepath.Dir(live), base[:len(base)-len(ext)]+"-"+stamp+ext)
		fi, err := os.Lstat(live)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return used, err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			used = "unlink-symlink"
			if err := os.Remove(live); err != nil {
				return used, err
			}
			continue
		}
		switch mode {
		case rotRename:
			err = os.Rename(live, rotated)
		case rotSymlink:
			if err = os.Rename(live, rotated); err == nil {
				err = os.Symlink(filepath.Base(rotated), live)
			}
		case rotCopyTruncate:
			in.copies++
			err = copyTruncate(live, fmt.Sprintf("%s.%d", live, in.copies))
		default:
			err = fmt.Errorf("unknown rotation mode %q", mode)
		}
		if err != nil {
			return used, err
		}
	}
	in.rotations[used]++
	return used, nil
}

// copyTruncate is logrotate's copytruncate: the copy gets a name the
// collector does not watch (flows.log.N), so it never reads those lines
// twice; lines it had not read before the truncation would be lost, so the
// campaign copytruncates only when collect has caught up.
func copyTruncate(live, copyTo string) error {
	src, err := os.Open(live)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(copyTo)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return os.Truncate(live, 0)
}

func (in *input) snapshot() ([]window, map[string]int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	rot := map[string]int{}
	for k, v := range in.rotations {
		rot[k] = v
	}
	return append([]window(nil), in.windows...), rot
}

// positions is the part of a positions file the campaign reads.
type positions struct {
	Files []struct {
		Inode  uint64 `json:"inode"`
		Offset int64  `json:"offset"`
	} `json:"files"`
}

// caughtUp reports whether the positions file of every kind says the live
// file (the file its name resolves to) is acknowledged to its end, i.e.
// Kafka has every line of it.
func (in *input) caughtUp(positionsDir string) (bool, string) {
	for _, k := range pipeline.Kinds {
		fi, err := os.Stat(in.live(k))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, err.Error()
		}
		ino := fi.Sys().(*syscall.Stat_t).Ino
		b, err := os.ReadFile(filepath.Join(positionsDir, string(k)+".positions.json"))
		if err != nil {
			return false, fmt.Sprintf("%s positions: %v", k, err)
		}
		var p positions
		if err := json.Unmarshal(b, &p); err != nil {
			return false, fmt.Sprintf("%s positions: %v", k, err)
		}
		found := false
		for _, f := range p.Files {
			if f.Inode == ino {
				found = true
				if f.Offset != fi.Size() {
					return false, fmt.Sprintf("%s at %d of %d bytes", k, f.Offset, fi.Size())
				}
			}
		}
		if !found && fi.Size() > 0 {
			return false, fmt.Sprintf("%s: live file not in the positions file yet", k)
		}
	}
	return true, "caught up"
}
