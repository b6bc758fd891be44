package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/sinks/kafka"
)

// benchNaming is the index naming of the benchmark's configuration.
var benchNaming = esink.Naming{Mode: esink.NamingFlowship, Prefix: "fsbench", Cluster: "bench"}

// measureIndex indexes the documents of one flowship collect run (its
// topics) with `flowship index`, and the same documents with the plain
// bulk loader, --runs times each, into fresh indices under flowship's own
// index templates (`flowship setup`).
func (b *bench) measureIndex(ctx context.Context, topics []string) error {
	t := kafka.Topics{Flows: topics[0], L7: topics[1], DNS: topics[2], DeadLetter: topics[3]}
	if err := b.setupES(ctx); err != nil {
		return err
	}
	dir := b.runDir("index-setup", 0)
	docs, err := b.kafka.count(ctx, t.Kinds()...)
	if err != nil {
		return err
	}
	bulkFile := filepath.Join(dir, "documents.ndjson")
	if n, err := b.kafka.dumpBulk(ctx, t.Kinds(), benchNaming, bulkFile); err != nil || n != docs {
		return fmt.Errorf("dumping the documents for the plain loader: %d of %d: %v", n, docs, err)
	}
	b.w.res.IndexDocs = docs
	pattern := "fsbench-*-bench-*"
	for r := range b.o.runs {
		res, err := b.runIndex(ctx, r, t, pattern, docs)
		if err != nil {
			return err
		}
		b.w.res.addIndex("flowship", res)
		b.logf("run %d flowship index: %s", r+1, res)
		if res, err = b.runLoader(ctx, r, bulkFile, pattern, docs); err != nil {
			return err
		}
		b.w.res.addIndex("bulk", res)
		b.logf("run %d plain bulk loader: %s", r+1, res)
	}
	return b.es.deleteIndices(ctx, pattern)
}

// runIndex runs `flowship index` with a fresh consumer group until its
// metrics count every document as created.
func (b *bench) runIndex(ctx context.Context, r int, t kafka.Topics, pattern string, docs int64) (runResult, error) {
	if err := b.es.deleteIndices(ctx, pattern); err != nil {
		return runResult{}, err
	}
	dir := b.runDir("index", r)
	cfg, addr, err := b.writeConfig(dir, t, fmt.Sprintf("fsbench-%s-%d", b.stamp, r+1))
	if err != nil {
		return runResult{}, err
	}
	p, err := startProc(b.o.flowship, []string{"index", "--config", cfg}, filepath.Join(dir, "index.log"))
	if err != nil {
		return runResult{}, err
	}
	res, err := b.measureUntil(ctx, p, func() (int64, error) { return indexedDocs(ctx, addr) }, docs)
	if stopErr := p.stop(30 * time.Second); err == nil && stopErr != nil {
		err = stopErr
	}
	if err != nil {
		return res, fmt.Errorf("flowship index: %w (log: %s)", err, p.log.Name())
	}
	res.Lines = docs
	res.RecordsOut, err = b.es.count(ctx, pattern)
	return res, err
}

// runLoader posts the dumped documents with `fsbench bulk`.
func (b *bench) runLoader(ctx context.Context, r int, file, pattern string, docs int64) (runResult, error) {
	if err := b.es.deleteIndices(ctx, pattern); err != nil {
		return runResult{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return runResult{}, err
	}
	log := filepath.Join(b.runDir("bulk", r), "bulk.log")
	u, err := runProc(ctx, self, []string{"bulk", "--url", b.o.esURL, "--user", b.o.esUser, "--file", file}, log, b.o.timeout)
	if err != nil {
		return runResult{}, err
	}
	out, _ := os.ReadFile(log)
	var br bulkResult
	if err := json.Unmarshal(out, &br); err != nil || br.Docs != docs {
		return runResult{}, fmt.Errorf("plain loader posted %d of %d documents (%v; log: %s)", br.Docs, docs, err, log)
	}
	n, err := b.es.count(ctx, pattern)
	return runResult{Lines: docs, Wall: u.Wall, CPU: u.CPU, PeakRSS: u.PeakRSS, RecordsOut: n}, err
}

// indexedDocs reads flowship_es_items_total{result="created"|"conflict"}
// from the indexer's /metrics.
func indexedDocs(ctx context.Context, addr string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	return promSum(res.Body, "flowship_es_items_total", `result="created"`, `result="conflict"`)
}

// promSum adds up the samples of metric whose labels contain any of
// labels, from the Prometheus text format.
func promSum(r io.Reader, metric string, labels ...string) (int64, error) {
	var sum int64
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		for _, l := range labels {
			if strings.Contains(line, l) {
				f := strings.Fields(line)
				v, err := strconv.ParseFloat(f[len(f)-1], 64)
				if err != nil {
					return 0, fmt.Errorf("metric line %q: %w", line, err)
				}
				sum += int64(v)
				break
			}
		}
	}
	return sum, sc.Err()
}
