package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/flowship/flowship/aggregator"
	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/hubble"
	"github.com/flowship/flowship/schema"
)

// sourceHubble is the `flowship aggregate --kind` of Cilium Hubble
// exporter files: each line is mapped (pipeline/hubble) onto a flows or
// L7 line before aggregation, as `flowship collect` does.
const sourceHubble = "hubble"

// sniffKind tells a file's kind from its first non-empty line: a Hubble
// exporter line has "flow", "lost_events", "agent_event" or "debug_event"
// at the top; a Felix flows line "source_name_aggr"; an L7 line
// "src_name_aggr"; a DNS line "qname".
func sniffKind(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		if len(line) > 0 {
			return sniffLine(line, path, lineNo)
		}
		if err == io.EOF {
			return "", fmt.Errorf("%s: empty; pass --kind flows|l7|dns|hubble|goldmane", path)
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
	}
}

func sniffLine(line []byte, path string, lineNo int) (string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(line, &top); err != nil {
		return "", fmt.Errorf("%s:%d: cannot tell the kind: not a JSON object (%v); pass --kind flows|l7|dns|hubble|goldmane", path, lineNo, err)
	}
	for _, c := range []struct{ key, kind string }{
		{"Key", sourceGoldmane}, {"flow", sourceHubble}, {"lost_events", sourceHubble}, {"agent_event", sourceHubble}, {"debug_event", sourceHubble},
		{"source_name_aggr", string(pipeline.KindFlow)}, {"src_name_aggr", string(pipeline.KindL7)},
		{"qname", string(pipeline.KindDNS)},
	} {
		if _, ok := top[c.key]; ok {
			return c.kind, nil
		}
	}
	return "", fmt.Errorf("%s:%d: cannot tell the kind from the first line; pass --kind flows|l7|dns|hubble|goldmane", path, lineNo)
}

// feedSource feeds one input file of any source kind into agg; Goldmane
// records, already aggregated by Goldmane, go to out as the documents
// `flowship receive` makes of them.
func feedSource(ctx context.Context, agg *aggregator.Aggregator, out pipeline.Consumer, cluster, path, kind string, stderr io.Writer) (int64, error) {
	if kind == sourceGoldmane {
		return feedGoldmane(ctx, out, cluster, path, stderr)
	}
	if kind != sourceHubble {
		return feedFile(ctx, agg, path, pipeline.Kind(kind), stderr)
	}
	tel := pipeline.NopTelemetry()
	flows, err := hubble.New(pipeline.KindFlow, true, tel, agg)
	if err != nil {
		return 0, err
	}
	l7, err := hubble.New(pipeline.KindL7, false, tel, agg)
	if err != nil {
		return 0, err
	}
	both := pipeline.ConsumerFunc(func(ctx context.Context, b pipeline.Batch) error {
		if err := flows.Consume(ctx, pipeline.Batch{Records: b.Records, Ack: pipeline.Nop}); err != nil {
			return err
		}
		if err := l7.Consume(ctx, pipeline.Batch{Records: b.Records, Ack: b.Ack}); err != nil {
			return err
		}
		return nil
	})
	return feedFile(ctx, both, path, pipeline.KindFlow, stderr)
}

// feedGoldmane writes the documents of a file of Goldmane emitter records
// to out; a bad line is reported with its number and skipped.
func feedGoldmane(ctx context.Context, out pipeline.Consumer, cluster, path string, stderr io.Writer) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rc := &receiver{cluster: cluster, cfg: DefaultReceiveConfig()}
	br := bufio.NewReaderSize(f, 256<<10)
	var recs []pipeline.Record
	var bad, docs int64
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		if len(line) > 0 {
			g, perr := schema.ParseGoldmane(line)
			if perr != nil {
				bad++
				fmt.Fprintf(stderr, "flowship aggregate: %s:%d: %v\n", path, lineNo, perr)
			} else {
				recs = append(recs, rc.record(&g))
				docs++
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return bad, fmt.Errorf("%s: %w", path, err)
		}
	}
	fmt.Fprintf(stderr, "goldmane %s: %d records, %d documents (not re-aggregated), %d bad\n", path, docs+bad, docs, bad)
	return 0, out.Consume(ctx, pipeline.Batch{Records: recs, Ack: pipeline.Nop})
}
