package synth

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/schema"
)

func TestWriteHubbleAndGoldmane(t *testing.T) {
	start := time.Date(2025, 6, 10, 8, 0, 0, 0, time.UTC)
	var a, b bytes.Buffer
	if err := WriteHubble(&a, 7, start, 500); err != nil {
		t.Fatal(err)
	}
	if err := WriteHubble(&b, 7, start, 500); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("same seed, different Hubble output")
	}
	kinds := map[schema.HubbleEvent]int{}
	for i, l := range strings.Split(strings.TrimSpace(a.String()), "\n") {
		_, ev, err := schema.ParseHubble([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		kinds[ev]++
	}
	if kinds[schema.HubbleFlowEvent] == 0 || kinds[schema.HubbleL7] == 0 || kinds[schema.HubbleLost] == 0 {
		t.Errorf("event mix %v lacks a kind", kinds)
	}
	a.Reset()
	b.Reset()
	if err := WriteGoldmane(&a, 7, start, 3, 40); err != nil {
		t.Fatal(err)
	}
	if err := WriteGoldmane(&b, 7, start, 3, 40); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("same seed, different Goldmane output")
	}
	lines := strings.Split(strings.TrimSpace(a.String()), "\n")
	if len(lines) != 120 {
		t.Fatalf("%d Goldmane lines, want 3 windows x 40", len(lines))
	}
	for i, l := range lines {
		if _, err := schema.ParseGoldmane([]byte(l)); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
}

// The exporter's rotation (lumberjack, as cilium/cilium pkg/hubble/exporter
// configures it): whole lines, every file at most the size, backups named
// events-<rotation time>.log, the live file events.log; backups then live
// hold exactly WriteHubble's lines, in order.
func TestWriteHubbleFilesRotates(t *testing.T) {
	start := time.Date(2025, 6, 10, 8, 0, 0, 0, time.UTC)
	var want bytes.Buffer
	if err := WriteHubble(&want, 7, start, 400); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const size = 16 << 10
	got, err := WriteHubbleFiles(dir, 7, start, 400, size, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rotations < 3 || len(got.Backups) != got.Rotations || got.Live != filepath.Join(dir, "events.log") {
		t.Fatalf("%+v: want several rotations, every backup kept", got)
	}
	name := regexp.MustCompile(`^events-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3})\.log$`)
	var all []byte
	for i, f := range append(append([]string(nil), got.Backups...), got.Live) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > size || len(b) == 0 || b[len(b)-1] != '\n' {
			t.Errorf("%s: %d bytes, want whole lines, at most %d", f, len(b), size)
		}
		if i < len(got.Backups) {
			m := name.FindStringSubmatch(filepath.Base(f))
			if m == nil {
				t.Fatalf("backup %s is not named events-<2006-01-02T15-04-05.000>.log", f)
			}
			// Rotated before the next file's first line was written: the
			// name is that line's event time.
			next := got.Live
			if i+1 < len(got.Backups) {
				next = got.Backups[i+1]
			}
			nb, _ := os.ReadFile(next)
			first, _, _ := strings.Cut(string(nb), "\n")
			tm, _ := time.Parse("2006-01-02T15-04-05.000", m[1])
			if !strings.Contains(first, `"time":"`+tm.Format(time.RFC3339Nano)+`"`) {
				t.Errorf("%s: its name's time %s is not the event time of the line that rotated it: %s", f, tm.Format(time.RFC3339Nano), first)
			}
		}
		all = append(all, b...)
	}
	if !bytes.Equal(all, want.Bytes()) {
		t.Fatal("backups then events.log differ from WriteHubble's lines")
	}
	// At most two backups kept: the newest two.
	dir2 := t.TempDir()
	got2, err := WriteHubbleFiles(dir2, 7, start, 400, size, 2)
	if err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir2, "events-*.log"))
	if got2.Rotations != got.Rotations || len(matches) != 2 || filepath.Base(matches[1]) != filepath.Base(got.Backups[len(got.Backups)-1]) {
		t.Fatalf("with max 2 backups: %+v, files %v", got2, matches)
	}
}
