//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	goes "github.com/elastic/go-elasticsearch/v8"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/tidwall/gjson"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/sinks/kafka"
)

// counters are the fields summed per kind: the counters aggregation adds
// up, and flowship.records (the lines behind each document).
var counters = map[pipeline.Kind][]string{
	pipeline.KindFlow: {"bytes_in", "bytes_out", "packets_in", "packets_out", "num_flows", "num_flows_started", "num_flows_completed", "flowship.records"},
	pipeline.KindL7:   {"count", "bytes_in", "bytes_out", "flowship.records"},
	pipeline.KindDNS:  {"count", "latency_count", "flowship.records"},
}

// esDo sends one request and returns the status and body; a status of 400
// or more is an error.
func esDo(ctx context.Context, es *goes.Client, method, pathQuery, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, pathQuery, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := es.Perform(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode >= 400 {
		err = fmt.Errorf("%s %s: HTTP %d: %.300s", method, pathQuery, res.StatusCode, b)
	}
	return res.StatusCode, b, err
}

// patterns is the comma-separated index patterns of all kinds.
func (e *e2e) patterns() string {
	var ps []string
	for _, k := range pipeline.Kinds {
		ps = append(ps, e.cfg.Index.Elasticsearch.Naming.Pattern(k))
	}
	return strings.Join(ps, ",")
}

// counts refreshes the test's indices and returns the documents per kind.
func (e *e2e) counts(ctx context.Context) (map[pipeline.Kind]int64, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, _, err := esDo(ctx, e.es, "POST", "/"+e.patterns()+"/_refresh", ""); err != nil {
		return nil, 0, err
	}
	out := map[pipeline.Kind]int64{}
	var total int64
	for _, k := range pipeline.Kinds {
		_, b, err := esDo(ctx, e.es, "GET", "/"+e.cfg.Index.Elasticsearch.Naming.Pattern(k)+"/_count", "")
		if err != nil {
			return nil, 0, err
		}
		n := gjson.GetBytes(b, "count").Int()
		out[k] = n
		total += n
	}
	return out, total, nil
}

// waitLanded waits until Elasticsearch holds want documents; more than want
// fails at once (a duplicate or an unexpected document). check, when not
// nil, runs on every poll (e.g. that the stages are still running).
func (e *e2e) waitLanded(want int, timeout time.Duration, check func()) {
	e.t.Helper()
	waitFor(e.t, timeout, "documents in Elasticsearch", func() (bool, string, error) {
		if check != nil {
			check()
		}
		byKind, total, err := e.counts(context.Background())
		if err != nil {
			return false, "not countable yet: " + err.Error(), nil
		}
		if total > int64(want) {
			return false, "", fmt.Errorf("%d documents, more than the %d expected: %v", total, want, byKind)
		}
		return total == int64(want), fmt.Sprintf("%d of %d %v", total, want, byKind), nil
	})
	e.logf("all %d documents are in Elasticsearch", want)
}

// esDocs returns every document id in the test's indices with the indices
// holding it, read with search_after on flowship.id (sorting on _id needs
// fielddata). A hit whose _id differs from its flowship.id fails t.
func (e *e2e) esDocs(ctx context.Context) map[string][]string {
	e.t.Helper()
	if _, _, err := esDo(ctx, e.es, "POST", "/"+e.patterns()+"/_refresh", ""); err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]string{}
	after := ""
	for {
		q := map[string]any{"size": 5000, "_source": []string{"flowship.id"}, "sort": []any{map[string]any{"flowship.id": "asc"}}, "track_total_hits": false}
		if after != "" {
			q["search_after"] = []string{after}
		}
		body, _ := json.Marshal(q)
		_, b, err := esDo(ctx, e.es, "POST", "/"+e.patterns()+"/_search", string(body))
		if err != nil {
			e.t.Fatal(err)
		}
		hits := gjson.GetBytes(b, "hits.hits").Array()
		if len(hits) == 0 {
			return out
		}
		for _, h := range hits {
			id, fid := h.Get("_id").String(), h.Get("_source.flowship.id").String()
			if id != fid {
				e.t.Errorf("document %s in %s has flowship.id %q", id, h.Get("_index"), fid)
			}
			out[id] = append(out[id], h.Get("_index").String())
		}
		after = hits[len(hits)-1].Get("sort.0").String()
	}
}

// checkDocSet fails t unless Elasticsearch holds exactly the documents of
// want: every id once, in the index its event time names, nothing else.
func (e *e2e) checkDocSet(ctx context.Context, want map[string]pipeline.Record) {
	e.t.Helper()
	got := e.esDocs(ctx)
	var missing, unexpected, twice, misplaced []string
	hits := 0
	for id, indices := range got {
		hits += len(indices)
		r, ok := want[id]
		switch {
		case !ok:
			unexpected = append(unexpected, id)
		case len(indices) > 1:
			twice = append(twice, fmt.Sprintf("%s in %v", id, indices))
		case indices[0] != e.cfg.Index.Elasticsearch.Naming.Index(r.Kind, r.Time):
			misplaced = append(misplaced, fmt.Sprintf("%s in %s", id, indices[0]))
		}
	}
	for id := range want {
		if _, ok := got[id]; !ok {
			missing = append(missing, id)
		}
	}
	e.logf("Elasticsearch: %d hits, %d distinct ids; expected %d", hits, len(got), len(want))
	for _, c := range []struct {
		what string
		ids  []string
	}{{"missing", missing}, {"unexpected", unexpected}, {"stored more than once", twice}, {"in the wrong index", misplaced}} {
		if len(c.ids) > 0 {
			slices.Sort(c.ids)
			e.t.Errorf("%d documents %s, e.g. %v", len(c.ids), c.what, c.ids[:min(5, len(c.ids))])
		}
	}
	if hits != len(want) {
		e.t.Errorf("Elasticsearch holds %d documents, want %d", hits, len(want))
	}
}

// esSums returns the sum aggregation of each field over kind's indices.
func (e *e2e) esSums(ctx context.Context, kind pipeline.Kind, fields []string) map[string]int64 {
	e.t.Helper()
	aggs := map[string]any{}
	for _, f := range fields {
		aggs[f] = map[string]any{"sum": map[string]string{"field": f}}
	}
	body, _ := json.Marshal(map[string]any{"size": 0, "aggs": aggs})
	_, b, err := esDo(ctx, e.es, "POST", "/"+e.cfg.Index.Elasticsearch.Naming.Pattern(kind)+"/_search", string(body))
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, f := range fields {
		v := gjson.GetBytes(b, "aggregations."+gjson.Escape(f)+".value").Float()
		if v > 1<<53 {
			e.t.Fatalf("sum of %s.%s = %g is beyond exact float64 integers; generate less", kind, f, v)
		}
		out[f] = int64(math.Round(v))
	}
	return out
}

// docSums sums the same fields over documents of kind.
func docSums(docs map[string]pipeline.Record, kind pipeline.Kind, fields []string) map[string]int64 {
	out := map[string]int64{}
	for _, r := range docs {
		if r.Kind != kind {
			continue
		}
		for _, f := range fields {
			out[f] += gjson.GetBytes(r.Value, f).Int()
		}
	}
	return out
}

// endOffsets returns the end offset of partitions 0-2 of each topic.
func (e *e2e) endOffsets(ctx context.Context, cl *kafkago.Client, topics []string) map[string]map[int]int64 {
	e.t.Helper()
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
	for _, tp := range topics {
		for p := range 3 {
			req.Topics[tp] = append(req.Topics[tp], kafkago.LastOffsetOf(p))
		}
	}
	res, err := cl.ListOffsets(ctx, req)
	if err != nil {
		e.t.Fatalf("listing end offsets: %v", err)
	}
	out := map[string]map[int]int64{}
	for tp, ps := range res.Topics {
		out[tp] = map[int]int64{}
		for _, p := range ps {
			if p.Error != nil {
				e.t.Fatalf("end offset of %s/%d: %v", tp, p.Partition, p.Error)
			}
			out[tp][p.Partition] = p.LastOffset
		}
	}
	return out
}

// checkCommitted fails t unless the consumer group has committed the end
// offset of every partition of the kind topics: every record settled,
// including dead-lettered ones.
func (e *e2e) checkCommitted(ctx context.Context) {
	e.t.Helper()
	cl := &kafkago.Client{Addr: kafkago.TCP(e.cfg.Kafka.Brokers...), Timeout: 10 * time.Second}
	topics := e.cfg.Kafka.Topics.Kinds()
	ends := e.endOffsets(ctx, cl, topics)
	req := &kafkago.OffsetFetchRequest{GroupID: e.cfg.Index.Consumer.GroupID, Topics: map[string][]int{}}
	for _, tp := range topics {
		req.Topics[tp] = []int{0, 1, 2}
	}
	res, err := cl.OffsetFetch(ctx, req)
	if err != nil {
		e.t.Fatalf("fetching committed offsets: %v", err)
	}
	for _, tp := range topics {
		for _, p := range res.Topics[tp] {
			if end := ends[tp][p.Partition]; p.CommittedOffset != end {
				e.t.Errorf("group committed %s/%d at %d, want its end offset %d (error %v)", tp, p.Partition, p.CommittedOffset, end, p.Error)
			}
		}
	}
}

// deadLetters reads the whole dead-letter topic.
func (e *e2e) deadLetters(ctx context.Context) []kafka.DeadLetter {
	e.t.Helper()
	topic := e.cfg.Kafka.Topics.DeadLetter
	cl := &kafkago.Client{Addr: kafkago.TCP(e.cfg.Kafka.Brokers...), Timeout: 10 * time.Second}
	var out []kafka.DeadLetter
	for p, end := range e.endOffsets(ctx, cl, []string{topic})[topic] {
		if end == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: e.cfg.Kafka.Brokers, Topic: topic, Partition: p, MaxWait: 200 * time.Millisecond})
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				e.t.Fatalf("reading %s/%d: %v", topic, p, err)
			}
			dl, err := kafka.ParseDeadLetter(m)
			if err != nil {
				e.t.Errorf("dead letter %s/%d@%d: %v", topic, p, m.Offset, err)
			}
			out = append(out, dl)
			if m.Offset+1 >= end {
				break
			}
		}
		r.Close()
	}
	return out
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
