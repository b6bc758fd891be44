package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema/synth"
)

// sourceGoldmane is the gen kind of Goldmane emitter NDJSON.
const sourceGoldmane = "goldmane"

// hubbleRotation is when `gen --kind hubble` rotates events.log.
type hubbleRotation struct {
	size    int64
	backups int // 0: keep all
}

// genSource writes a Hubble exporter file (--lines events, default 10000)
// to <out>/hubble/events.log, rotated like Cilium's exporter does it
// (events-<time>.log backups, see synth.WriteHubbleFiles), or Goldmane emitter windows (--windows
// windows, default 4, of --flows-per-window flows) to
// <out>/goldmane/flows.ndjson; "-" writes to stdout. The same --seed and
// --start give byte-identical output.
func genSource(kind, out string, seed uint64, start string, lines, windows, perWindow int, rot hubbleRotation, stdout, stderr io.Writer) error {
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return usageError{fmt.Sprintf("--start %q: want RFC 3339, e.g. 2025-06-10T08:00:00Z", start)}
	}
	if lines <= 0 {
		lines = 10000
	}
	if windows <= 0 {
		windows = 4
	}
	if kind == sourceHubble && out != "-" {
		dir := filepath.Join(out, "hubble")
		files, err := synth.WriteHubbleFiles(dir, seed, t, lines, rot.size, rot.backups)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "flowship gen: %d Hubble events from %s, seed %d, to %s (%d rotations at %s, %d backups kept)\n",
			lines, t.UTC().Format(time.RFC3339), seed, files.Live, files.Rotations, pipeline.ByteSize(rot.size), len(files.Backups))
		return nil
	}
	w, dest := stdout, "stdout"
	if out != "-" {
		dest = filepath.Join(out, "hubble", "events.log")
		if kind == sourceGoldmane {
			dest = filepath.Join(out, "goldmane", "flows.ndjson")
		}
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			return err
		}
		f, err := os.Create(dest)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	if kind == sourceHubble {
		err = synth.WriteHubble(bw, seed, t, lines)
		fmt.Fprintf(stderr, "flowship gen: %d Hubble events from %s, seed %d, to %s\n", lines, t.UTC().Format(time.RFC3339), seed, dest)
	} else {
		err = synth.WriteGoldmane(bw, seed, t, windows, perWindow)
		fmt.Fprintf(stderr, "flowship gen: %d Goldmane windows of %d flows from %s, seed %d, to %s\n", windows, perWindow, t.UTC().Format(time.RFC3339), seed, dest)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}
