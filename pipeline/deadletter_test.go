package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

// The lines the two writers wrote before they shared this type, by hand
// from their old entry structs (aggregator/deadletter.go and
// pipeline/filetail/deadletter.go at acfc06d).
const (
	oldAggregatorLine = `{"time":"2026-12-03T09:00:00Z","kind":"flows","file":"f.log","line":3,"offset":40,"reason":"invalid_json","error":"schema: bad","raw":"{\"start_time\":\"x\"}"}`
	oldTailerLine     = `{"time":"2026-12-03T09:00:00Z","kind":"flows","file":"/var/log/calico/flowlogs/flows.log","line":2,"offset":7,"error":"line of 2048 bytes is longer than max_line_size (100 bytes)","reason":"too_long","bytes":2048,"raw":"LLLL","truncated":true}`
)

func TestDeadLetterFormatUnchanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	d, err := OpenDeadLetterLog(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	n, truncated := int64(2048), true
	for _, e := range []DeadLetterEntry{
		{Time: at, Kind: KindFlow, File: "f.log", Line: 3, Offset: 40, Reason: "invalid_json", Error: "schema: bad", Raw: `{"start_time":"x"}`},
		{Time: at, Kind: KindFlow, File: "/var/log/calico/flowlogs/flows.log", Line: 2, Offset: 7, Reason: "too_long",
			Error: "line of 2048 bytes is longer than max_line_size (100 bytes)", Bytes: &n, Raw: "LLLL", Truncated: &truncated},
	} {
		if err := d.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), b)
	}
	// The aggregator's lines: byte for byte as before.
	if string(lines[0]) != oldAggregatorLine {
		t.Errorf("aggregator line\n got %s\nwant %s", lines[0], oldAggregatorLine)
	}
	// The tailer's: the same keys and values as before ("reason" now
	// precedes "error", as in the aggregator's lines).
	var got, want map[string]any
	if err := json.Unmarshal(lines[1], &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(oldTailerLine), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tailer line\n got %s\nwant %s", lines[1], oldTailerLine)
	}
	// A skipped line short enough to be whole still says truncated:false.
	f := false
	b, _ = json.Marshal(DeadLetterEntry{Time: at, Bytes: &n, Truncated: &f})
	if !bytes.Contains(b, []byte(`"truncated":false`)) {
		t.Errorf("truncated:false left out: %s", b)
	}
}

func TestDeadLetterLogSharedNilClosed(t *testing.T) {
	var nilLog *DeadLetterLog
	if err := nilLog.Write(DeadLetterEntry{Raw: "x"}); err != nil || nilLog.Close() != nil {
		t.Error("a nil log does not discard")
	}
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	a, err := OpenDeadLetterLog(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenDeadLetterLog(path) // the tailers' and the aggregator's, on one path
	if err != nil {
		t.Fatal(err)
	}
	big := string(bytes.Repeat([]byte("r"), 8000))
	var wg sync.WaitGroup
	for _, l := range []*DeadLetterLog{a, b} {
		for range 4 {
			wg.Go(func() {
				for range 50 {
					if err := l.Write(DeadLetterEntry{Kind: KindFlow, Raw: big}); err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
	wg.Wait()
	_ = a.Close()
	_ = b.Close()
	if err := a.Write(DeadLetterEntry{}); !errors.Is(err, ErrDeadLetterClosed) {
		t.Errorf("write after Close: %v", err)
	}
	raw, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for i, l := range lines {
		var e DeadLetterEntry
		if err := json.Unmarshal(l, &e); err != nil || e.Raw != big {
			t.Fatalf("line %d is not one whole entry: %v", i+1, err)
		}
	}
	if _, err := OpenDeadLetterLog(filepath.Join(t.TempDir(), "no", "such", "dir", "x")); err == nil {
		t.Error("a path in a missing directory opened")
	}
}
