package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flowship/flowship/aggregator"
	"github.com/flowship/flowship/pipeline"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
)

// reductionWindows are the bucket lengths the reduction table compares.
var reductionWindows = []struct {
	label string
	d     time.Duration
}{{"5m", 5 * time.Minute}, {"15m", 15 * time.Minute}, {"1h", time.Hour}}

// measureReduction aggregates the flow file at levels 0–3 and windows 5m,
// 15m and 1h with flowship's aggregator, indexes each result into its own
// indices under flowship's templates, force-merges them to one segment
// and reads documents and store size from _stats.
func (b *bench) measureReduction(ctx context.Context) error {
	if err := b.setupES(ctx); err != nil {
		return err
	}
	levels, windows := []int{0, 1, 2, 3}, reductionWindows
	if b.o.smoke {
		levels, windows = []int{2}, windows[:1]
	}
	dir := b.runDir("reduce", 0)
	for _, level := range levels {
		for _, w := range windows {
			row, err := b.reduceOne(ctx, dir, level, w.label, w.d)
			if err != nil {
				return fmt.Errorf("reduction level %d window %s: %w", level, w.label, err)
			}
			b.report.Reduction = append(b.report.Reduction, row)
			b.logf("reduction level %d window %s: %d documents, %d bytes", level, w.label, row.Docs, row.StoreBytes)
		}
	}
	return nil
}

func (b *bench) reduceOne(ctx context.Context, dir string, level int, label string, window time.Duration) (reductionRow, error) {
	naming := esink.Naming{Mode: esink.NamingFlowship, Prefix: "fsbench", Cluster: fmt.Sprintf("bench-red-l%d-%s", level, label)}
	pattern := naming.Pattern(pipeline.KindFlow)
	file := filepath.Join(dir, fmt.Sprintf("level%d-%s.ndjson", level, label))
	defer os.Remove(file)
	row := reductionRow{Level: level, Window: label, Lines: b.w.res.Files[0].Lines}
	docs, err := aggregateToBulk(ctx, b.w.files[0], level, window, naming, file)
	if err != nil {
		return row, err
	}
	row.Docs = docs
	if err := b.es.deleteIndices(ctx, pattern); err != nil {
		return row, err
	}
	defer func() { _ = b.es.deleteIndices(context.WithoutCancel(ctx), pattern) }()
	self, err := os.Executable()
	if err != nil {
		return row, err
	}
	log := filepath.Join(dir, fmt.Sprintf("bulk-level%d-%s.log", level, label))
	if _, err := runProc(ctx, self, []string{"bulk", "--url", b.o.esURL, "--user", b.o.esUser, "--file", file}, log, b.o.timeout); err != nil {
		return row, err
	}
	if err := b.es.settle(ctx, pattern); err != nil {
		return row, err
	}
	st, err := b.es.stats(ctx, pattern)
	if err != nil {
		return row, err
	}
	if st.Docs != docs {
		return row, fmt.Errorf("elasticsearch holds %d documents, the aggregator made %d", st.Docs, docs)
	}
	row.StoreBytes = st.StoreBytes
	return row, nil
}

// aggregateToBulk runs flowship's aggregator over a flow file (both levels
// set to level, the other settings flowship's defaults) and writes the
// documents as a bulk body. It returns the number of documents.
func aggregateToBulk(ctx context.Context, path string, level int, window time.Duration, naming esink.Naming, out string) (int64, error) {
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var docs int64
	sink := pipeline.ConsumerFunc(func(_ context.Context, b pipeline.Batch) error {
		var buf []byte
		for i := range b.Records {
			buf = appendBulkCreate(buf[:0], naming, &b.Records[i])
			w.Write(buf)
			docs++
		}
		b.Ack(nil)
		return nil
	})
	cfg := aggregator.DefaultConfig()
	cfg.Cluster, cfg.Node = "bench", "bench-node"
	cfg.Levels = aggregator.Levels{Allowed: level, Denied: level}
	cfg.Window, cfg.IdleFlush = window, 0
	agg, err := aggregator.New(cfg, pipeline.NopTelemetry(), sink)
	if err != nil {
		return 0, err
	}
	if err := feed(ctx, agg, path); err != nil {
		return 0, err
	}
	if err := agg.Flush(ctx); err != nil {
		return 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return docs, f.Close()
}

// feed hands the file's lines to the aggregator in batches of 1000.
func feed(ctx context.Context, agg *aggregator.Aggregator, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 256<<10), 1<<20)
	var batch []pipeline.Record
	var offset, line int64
	for sc.Scan() {
		line++
		v := bytes.Clone(sc.Bytes())
		batch = append(batch, pipeline.Record{Kind: pipeline.KindFlow, Value: v, Source: path, Offset: offset, Line: line})
		offset += int64(len(v)) + 1
		if len(batch) == 1000 {
			if err := agg.Consume(ctx, pipeline.Batch{Records: batch, Ack: pipeline.Nop}); err != nil {
				return err
			}
			batch = nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return agg.Consume(ctx, pipeline.Batch{Records: batch, Ack: pipeline.Nop})
	}
	return nil
}

// setupES applies flowship's index templates for the benchmark naming
// once (`flowship setup`).
func (b *bench) setupES(ctx context.Context) error {
	if b.esReady {
		return nil
	}
	dir := b.runDir("es-setup", 0)
	cfg, _, err := b.writeConfig(dir, b.topics("setup", 0), "")
	if err != nil {
		return err
	}
	if _, err := runProc(ctx, b.o.flowship, []string{"setup", "--config", cfg}, filepath.Join(dir, "setup.log"), b.o.timeout); err != nil {
		return err
	}
	b.esReady = true
	return nil
}

// reductionRow is one level × window of the reduction table.
type reductionRow struct {
	Level      int    `json:"level"`
	Window     string `json:"window"`
	Lines      int64  `json:"lines"`
	Docs       int64  `json:"docs"`
	StoreBytes int64  `json:"store_bytes"`
}
