package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/flowship/flowship/schema"
	kafkago "github.com/segmentio/kafka-go"
)

// lagStatus returns the records the consumer group has not committed,
// summed over every partition of topics.
func lagStatus(ctx context.Context, brokers []string, group string, topics []string) (int64, error) {
	cl := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 10 * time.Second}
	meta, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: topics})
	if err != nil {
		return 0, err
	}
	ends := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
	fetch := &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{}}
	for _, t := range meta.Topics {
		if t.Error != nil {
			return 0, fmt.Errorf("metadata of %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			ends.Topics[t.Name] = append(ends.Topics[t.Name], kafkago.LastOffsetOf(p.ID))
			fetch.Topics[t.Name] = append(fetch.Topics[t.Name], p.ID)
		}
	}
	eres, err := cl.ListOffsets(ctx, ends)
	if err != nil {
		return 0, err
	}
	fres, err := cl.OffsetFetch(ctx, fetch)
	if err != nil {
		return 0, err
	}
	if fres.Error != nil {
		return 0, fres.Error
	}
	committed := map[string]map[int]int64{}
	for t, ps := range fres.Topics {
		committed[t] = map[int]int64{}
		for _, p := range ps {
			committed[t][p.Partition] = p.CommittedOffset
		}
	}
	var lag int64
	for t, ps := range eres.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return 0, fmt.Errorf("end offset of %s/%d: %w", t, p.Partition, p.Error)
			}
			c := max(committed[t][p.Partition], 0)
			lag += p.LastOffset - c
		}
	}
	return lag, nil
}

// es is a minimal Elasticsearch client: the campaign needs counts and a
// full scan of its indices.
type es struct {
	url, user, password string
	http                *http.Client
}

func (e *es) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if e.user != "" {
		req.SetBasicAuth(e.user, e.password)
	}
	res, err := e.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode >= 300 {
		err = fmt.Errorf("%s %s: HTTP %d: %.300s", method, path, res.StatusCode, b)
	}
	return b, err
}

// count refreshes pattern and returns its document count.
func (e *es) count(ctx context.Context, pattern string) (int64, error) {
	if _, err := e.do(ctx, "POST", "/"+pattern+"/_refresh?allow_no_indices=true", nil); err != nil {
		return 0, err
	}
	b, err := e.do(ctx, "GET", "/"+pattern+"/_count?allow_no_indices=true", nil)
	if err != nil {
		return 0, err
	}
	var r struct {
		Count int64 `json:"count"`
	}
	return r.Count, json.Unmarshal(b, &r)
}

// hit is one stored document.
type hit struct {
	index  string
	source json.RawMessage
}

// scan returns every document of pattern by _id, sorted on flowship.id
// with search_after.
func (e *es) scan(ctx context.Context, pattern string) (map[string][]hit, error) {
	out := map[string][]hit{}
	var after []any
	for {
		q := map[string]any{"size": 2000, "sort": []any{map[string]any{"flowship.id": "asc"}, map[string]any{"_index": "asc"}}, "track_total_hits": false}
		if after != nil {
			q["search_after"] = after
		}
		b, err := e.do(ctx, "POST", "/"+pattern+"/_search?allow_no_indices=true", q)
		if err != nil {
			return nil, err
		}
		var r struct {
			Hits struct {
				Hits []struct {
					Index  string          `json:"_index"`
					ID     string          `json:"_id"`
					Source json.RawMessage `json:"_source"`
					Sort   []any           `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, err
		}
		hs := r.Hits.Hits
		if len(hs) == 0 {
			return out, nil
		}
		for _, h := range hs {
			out[h.ID] = append(out[h.ID], hit{h.Index, h.Source})
		}
		after = hs[len(hs)-1].Sort
	}
}

// expectedDocs runs `flowship aggregate` over the oracle files with the
// campaign's configuration and returns its documents by flowship.id.
func expectedDocs(ctx context.Context, bin, config string, files []string) (map[string]json.RawMessage, string, error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"aggregate", "--config", config}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	docs := map[string]json.RawMessage{}
	var dup []string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var d struct {
			Flowship struct {
				ID string `json:"id"`
			} `json:"flowship"`
		}
		line := bytes.Clone(sc.Bytes())
		if err := json.Unmarshal(line, &d); err != nil || d.Flowship.ID == "" {
			return nil, "", fmt.Errorf("flowship aggregate wrote a line without flowship.id: %.200s", line)
		}
		if _, ok := docs[d.Flowship.ID]; ok {
			dup = append(dup, d.Flowship.ID)
		}
		docs[d.Flowship.ID] = line
	}
	if err := sc.Err(); err != nil {
		return nil, "", err
	}
	if err := cmd.Wait(); err != nil {
		return nil, "", fmt.Errorf("flowship aggregate: %w\n%s", err, stderr.String())
	}
	if len(dup) > 0 {
		return nil, "", fmt.Errorf("flowship aggregate wrote %d ids twice, e.g. %s: the comparison would mean nothing", len(dup), dup[0])
	}
	return docs, stderr.String(), nil
}

// outcome of one document.
const (
	okDoc      = "ok"
	missing    = "missing"
	duplicated = "duplicated" // one _id stored in more than one index
	extra      = "extra"      // an _id the offline aggregate does not have
	differing  = "differing"
)

// finding is one document that is not as expected.
type finding struct {
	id, what string
	kind     string
	bucket   int64
	detail   string
}

// compare classifies every expected and every stored document.
func compare(want map[string]json.RawMessage, got map[string][]hit) (findings []finding, stored int) {
	for id, hs := range got {
		stored += len(hs)
		w, ok := want[id]
		src := hs[0].source
		if ok {
			src = w
		}
		kind, bucket := docBucket(src, hs[0].index)
		switch {
		case !ok:
			findings = append(findings, finding{id, extra, kind, bucket, fmt.Sprintf("in %s", hs[0].index)})
		case len(hs) > 1:
			var idx []string
			for _, h := range hs {
				idx = append(idx, h.index)
			}
			findings = append(findings, finding{id, duplicated, kind, bucket, strings.Join(idx, ",")})
		default:
			// The indexer adds the nested policy_hits list to flow documents
			// (derived from their policies strings, which are compared as
			// they are); the expected document gets the same addition.
			if d := jsonDiff(schema.AppendWithPolicyHits(nil, w), hs[0].source); d != "" {
				findings = append(findings, finding{id, differing, kind, bucket, d})
			}
		}
	}
	for id, w := range want {
		if _, ok := got[id]; !ok {
			kind, bucket := docBucket(w, "")
			findings = append(findings, finding{id, missing, kind, bucket, ""})
		}
	}
	slices.SortFunc(findings, func(a, b finding) int {
		if c := strings.Compare(a.what, b.what); c != 0 {
			return c
		}
		if a.bucket != b.bucket {
			return int(a.bucket - b.bucket)
		}
		return strings.Compare(a.id, b.id)
	})
	return findings, stored
}

// docBucket returns the kind (from the index name) and bucket_start of a document.
func docBucket(src json.RawMessage, index string) (string, int64) {
	var d struct {
		Flowship struct {
			BucketStart int64 `json:"bucket_start"`
		} `json:"flowship"`
		// Which kind: flow documents have num_flows, DNS ones qname, L7 ones the rest.
		NumFlows *int64  `json:"num_flows"`
		QName    *string `json:"qname"`
	}
	_ = json.Unmarshal(src, &d)
	kind := "l7"
	switch {
	case d.NumFlows != nil:
		kind = "flows"
	case d.QName != nil:
		kind = "dns"
	}
	_ = index
	return kind, d.Flowship.BucketStart
}

// jsonDiff returns "" when a and b hold the same JSON value, otherwise the
// top-level keys (dotted one level down) whose values differ.
func jsonDiff(a, b json.RawMessage) string {
	var x, y map[string]any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		if bytes.Equal(a, b) {
			return ""
		}
		return "not JSON objects"
	}
	var keys []string
	diffMaps("", x, y, &keys)
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

func diffMaps(prefix string, x, y map[string]any, out *[]string) {
	seen := map[string]bool{}
	for k, xv := range x {
		seen[k] = true
		yv, ok := y[k]
		if !ok {
			*out = append(*out, prefix+k+"(missing)")
			continue
		}
		xm, xok := xv.(map[string]any)
		ym, yok := yv.(map[string]any)
		if xok && yok {
			diffMaps(prefix+k+".", xm, ym, out)
			continue
		}
		xb, _ := json.Marshal(xv)
		yb, _ := json.Marshal(yv)
		if !bytes.Equal(xb, yb) {
			*out = append(*out, fmt.Sprintf("%s%s(want %.40s got %.40s)", prefix, k, xb, yb))
		}
	}
	for k := range y {
		if !seen[k] {
			*out = append(*out, prefix+k+"(unexpected)")
		}
	}
}

// Attribution: the lines of a window are exposed to the fault running when
// they are written, or else to the next fault that starts within
// attrLookback after the write (lines not yet acknowledged when collect is
// killed, or read again after a rotation trick); attrSettle extends a
// fault's end for what it leaves behind (e.g. the restart after it).
const (
	attrLookback = 30 * time.Second
	attrSettle   = 10 * time.Second
)

// attributedTo returns the fault a window written at t is attributed to,
// nil when none is near.
func attributedTo(faults []*fault, t time.Time) *fault {
	var during, next *fault
	for _, f := range faults {
		if !t.Before(f.start) && !t.After(f.end.Add(attrSettle)) {
			during = f // faults run one after the other: the latest one wins
		}
		if next == nil && f.start.After(t) && !f.start.After(t.Add(attrLookback)) {
			next = f
		}
	}
	if during != nil && (next == nil || !t.After(during.end)) {
		return during
	}
	return next
}

// row is one line of the per-fault-type table.
type row struct {
	typ                                   string
	injected, failed                      int
	expected                              int
	missing, duplicated, extra, differing int
}

func (r *row) add(what string) {
	switch what {
	case missing:
		r.missing++
	case duplicated:
		r.duplicated++
	case extra:
		r.extra++
	case differing:
		r.differing++
	}
}

// attribute builds the table: per fault type, the expected documents and
// the findings whose window is attributed to a fault of that type (see
// attributedTo); one near no fault is "unattributed". Each document counts
// once, so the rows add up to the total.
func attribute(faults []*fault, windows []window, want map[string]json.RawMessage, findings []finding, types []string) ([]row, row, row) {
	written := map[int64]time.Time{}
	for _, w := range windows {
		written[w.bucket] = w.written
	}
	near := func(bucket int64) *fault {
		t, ok := written[bucket]
		if !ok {
			return nil
		}
		return attributedTo(faults, t)
	}
	rows := map[string]*row{}
	for _, t := range types {
		rows[t] = &row{typ: t}
	}
	for _, f := range faults {
		rows[f.typ].injected++
		if f.err != nil {
			rows[f.typ].failed++
		}
	}
	for _, w := range want {
		_, b := docBucket(w, "")
		if f := near(b); f != nil {
			rows[f.typ].expected++
		}
	}
	un := row{typ: "unattributed"}
	total := row{typ: "total", injected: len(faults), expected: len(want)}
	for _, f := range faults {
		if f.err != nil {
			total.failed++
		}
	}
	for _, fd := range findings {
		total.add(fd.what)
		f := near(fd.bucket)
		if f == nil {
			un.add(fd.what)
			continue
		}
		rows[f.typ].add(fd.what)
		if f.found == nil {
			f.found = map[string]int{}
		}
		f.found[fd.what]++
	}
	var out []row
	for _, t := range types {
		out = append(out, *rows[t])
	}
	return out, un, total
}

func writeTable(w io.Writer, rows []row, un, total row) {
	fmt.Fprintf(w, "| %-26s | %8s | %8s | %7s | %10s | %5s | %9s |\n", "fault", "injected", "expected", "missing", "duplicated", "extra", "differing")
	fmt.Fprintf(w, "|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 28), strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 9), strings.Repeat("-", 12), strings.Repeat("-", 7), strings.Repeat("-", 11))
	line := func(r row, injected string) {
		fmt.Fprintf(w, "| %-26s | %8s | %8d | %7d | %10d | %5d | %9d |\n", r.typ, injected, r.expected, r.missing, r.duplicated, r.extra, r.differing)
	}
	for _, r := range rows {
		inj := fmt.Sprint(r.injected)
		if r.failed > 0 {
			inj += fmt.Sprintf(" (%d!)", r.failed)
		}
		line(r, inj)
	}
	line(un, "-")
	line(total, fmt.Sprint(total.injected))
}

func readFileString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
