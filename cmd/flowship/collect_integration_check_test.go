//go:build integration

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/sinks/kafka"
)

// What TestCollectKafkaSIGKILLExactlyOnce compares: the documents in the
// topic, the documents of the offline run, and the dead-lettered lines.

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
	defer lc.Close()
	first, last, err := lc.ReadOffsets()
	if err != nil {
		t.Fatal(err)
	}
	from, seen := tr.next[part]
	if !seen {
		from = first
	}
	if _, err := lc.Seek(from, kafkago.SeekAbsolute); err != nil {
		t.Fatal(err)
	}
	_ = lc.SetReadDeadline(time.Now().Add(30 * time.Second))
	var out []kafkago.Message
	for from < last {
		b := lc.ReadBatch(1, 10<<20)
		for {
			m, err := b.ReadMessage()
			if err != nil {
				break
			}
			out = append(out, m)
			from = m.Offset + 1
		}
		if err := b.Close(); err != nil {
			t.Fatalf("reading %s/%d at %d of %d: %v", tr.topic, part, from, last, err)
		}
	}
	tr.next[part] = from
	return out
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
	return runOffline(t, cmd)
}

// runOffline runs an aggregate command and returns its documents by id
// and the bad lines of its summary.
func runOffline(t *testing.T, cmd *exec.Cmd) (map[string]any, int64) {
	t.Helper()
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

// compareDocs checks got (from Kafka) against want (offline). On a
// mismatch it writes both sets to dir as JSON lines and lists, per bucket,
// documents and merged lines on both sides: equal lines in more documents
// mean a bucket was split into parts, fewer lines mean loss, more mean
// lines counted twice.
func compareDocs(t *testing.T, dir string, got, want map[string]any) {
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
	if len(missing)+len(extra)+len(differ) > 0 {
		t.Errorf("per bucket (kafka docs/lines vs offline docs/lines):\n%s", bucketTotals(got, want))
		dumpDocs(t, filepath.Join(dir, "docs-kafka.jsonl"), got)
		dumpDocs(t, filepath.Join(dir, "docs-offline.jsonl"), want)
	}
}

// bucketTotals lists the buckets whose document or line counts differ.
func bucketTotals(got, want map[string]any) string {
	type tot struct{ docs, lines [2]int64 }
	byBucket := map[string]*tot{}
	for side, docs := range []map[string]any{got, want} {
		for _, d := range docs {
			meta, _ := d.(map[string]any)["flowship"].(map[string]any)
			b := fmt.Sprint(meta["bucket_start"])
			if byBucket[b] == nil {
				byBucket[b] = &tot{}
			}
			n, _ := meta["records"].(json.Number).Int64()
			byBucket[b].docs[side]++
			byBucket[b].lines[side] += n
		}
	}
	var out []string
	for b, x := range byBucket {
		if x.docs[0] != x.docs[1] || x.lines[0] != x.lines[1] {
			out = append(out, fmt.Sprintf("  bucket %s: %d/%d vs %d/%d", b, x.docs[0], x.lines[0], x.docs[1], x.lines[1]))
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// dumpDocs writes docs to path as JSON lines sorted by id.
func dumpDocs(t *testing.T, path string, docs map[string]any) {
	t.Helper()
	var b bytes.Buffer
	for _, id := range slices.Sorted(maps.Keys(docs)) {
		b.WriteString(mustJSON(docs[id]))
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Error(err)
	}
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
