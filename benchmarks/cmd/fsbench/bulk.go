package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"golang.org/x/sync/errgroup"

	esink "github.com/flowship/flowship/sinks/elasticsearch"
)

// bulkResult is what `fsbench bulk` prints as one JSON line.
type bulkResult struct {
	Docs     int64 `json:"docs"`
	Requests int64 `json:"requests"`
	Failed   int64 `json:"failed"` // items neither created nor already there (409)
}

// runBulk is the plain bulk loader: it reads a prepared bulk body (create
// action + document per pair of lines), cuts it into requests of
// --actions documents and posts them with --workers concurrent requests.
// No retries, no compression, no per-document work: the most a client can
// get out of this Elasticsearch for these documents.
func runBulk(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bulk", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:9200", "Elasticsearch URL")
	user := fs.String("user", "", "user for basic auth; the password is read from $FLOWSHIP_ES_PASSWORD")
	file := fs.String("file", "", "bulk NDJSON file (create action line, document line)")
	actions := fs.Int("actions", 1000, "documents per bulk request (flowship's bulk_actions default)")
	workers := fs.Int("workers", 2, "concurrent requests (flowship's workers default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	es := newBenchES(*url, *user, os.Getenv("FLOWSHIP_ES_PASSWORD"))
	bodies := splitBulk(data, *actions)
	results := make([]bulkResult, len(bodies))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(*workers)
	for i, body := range bodies {
		g.Go(func() error {
			r, err := postBulk(gctx, es, body)
			results[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var total bulkResult
	for _, r := range results {
		total.Docs += r.Docs
		total.Requests += r.Requests
		total.Failed += r.Failed
	}
	return json.NewEncoder(stdout).Encode(total)
}

// splitBulk cuts an NDJSON bulk body into bodies of at most n documents
// (2n lines), without copying.
func splitBulk(data []byte, n int) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		end, lines := 0, 0
		for end < len(data) && lines < 2*n {
			i := bytes.IndexByte(data[end:], '\n')
			if i < 0 {
				end = len(data)
				break
			}
			end += i + 1
			lines++
		}
		out = append(out, data[:end])
		data = data[end:]
	}
	return out
}

func postBulk(ctx context.Context, es *benchES, body []byte) (bulkResult, error) {
	r := bulkResult{Requests: 1, Docs: int64(bytes.Count(body, []byte{'\n'}) / 2)}
	b, err := es.do(ctx, http.MethodPost, "/_bulk", "application/x-ndjson", body)
	if err != nil {
		return r, err
	}
	var res struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return r, fmt.Errorf("bulk response: %w", err)
	}
	if !res.Errors {
		return r, nil
	}
	for _, it := range res.Items {
		for _, v := range it {
			if v.Status/100 != 2 && v.Status != http.StatusConflict {
				r.Failed++
			}
		}
	}
	if r.Failed > 0 {
		return r, errors.New("bulk: some documents were rejected; see the Elasticsearch log")
	}
	return r, nil
}

// runDump writes the documents of flowship's topics as the plain loader's
// bulk body (what `fsbench run` does before measuring the indexers), for
// profiling `flowship index` against `fsbench bulk` by hand:
// fsbench dump --topics t.flows,t.l7,t.dns --prefix pi --cluster bench --out docs.ndjson
func runDump(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dump", flag.ContinueOnError)
	topics := fs.String("topics", "", "comma-separated topics written by flowship collect")
	prefix := fs.String("prefix", "fsbench", "index prefix (elasticsearch.naming.prefix)")
	cluster := fs.String("cluster", "bench", "cluster name in the index names")
	out := fs.String("out", "", "bulk NDJSON file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *topics == "" || *out == "" {
		return errors.New("dump: --topics and --out are required")
	}
	k := newBenchKafka(strings.Split(envOr("FLOWSHIP_KAFKA_BROKERS", "127.0.0.1:9092"), ","))
	naming := esink.Naming{Mode: esink.NamingFlowship, Prefix: *prefix, Cluster: *cluster}
	n, err := k.dumpBulk(ctx, strings.Split(*topics, ","), naming, *out)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]int64{"docs": n})
}
