package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/telemetry"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/sinks/kafka"
)

// deniedRow is one line of the "top denied flows" table.
type deniedRow struct {
	From, To, Port, Policy string
	Flows                  int64
}

// waitLanded polls until every expected document is in Elasticsearch (or
// the bulk file), printing progress.
func (d *demo) waitLanded(ctx context.Context, out io.Writer) error {
	deadline := time.Now().Add(d.opts.timeout)
	var want int64
	for _, n := range d.expected {
		want += n
	}
	last := int64(-1)
	for {
		counts, err := d.counts(ctx)
		var got int64
		for _, n := range counts {
			got += n
		}
		if err == nil && got != last {
			fmt.Fprintf(out, "  %d of %d documents landed\n", got, want)
			last = got
		}
		if err == nil && got >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d documents landed within %s (last error: %v)", got, want, d.opts.timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// counts returns the documents per index.
func (d *demo) counts(ctx context.Context) (map[string]int64, error) {
	if d.opts.embedded {
		docs, err := readBulkFile(d.bulkFile)
		out := map[string]int64{}
		for _, doc := range docs {
			out[doc.index]++
		}
		return out, err
	}
	client, err := esink.NewClient(d.cfg.Index.Elasticsearch)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, k := range pipeline.Kinds {
		res, err := client.Count(client.Count.WithContext(ctx), client.Count.WithIndex(d.cfg.Index.Elasticsearch.Naming.Pattern(k)))
		if err != nil {
			return nil, err
		}
		var c struct {
			Count int64 `json:"count"`
		}
		err = json.NewDecoder(res.Body).Decode(&c)
		res.Body.Close()
		if err != nil || res.IsError() {
			return nil, fmt.Errorf("count %s: %s", k, res.Status())
		}
		out[d.cfg.Index.Elasticsearch.Naming.Pattern(k)] = c.Count
	}
	return out, nil
}

func (d *demo) report(ctx context.Context, out io.Writer, took time.Duration) error {
	counts, err := d.counts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nDocuments per index:")
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(out, "  %-45s %8d\n", n, counts[n])
	}
	fmt.Fprintln(out, "\nReduction by aggregation (lines read → documents stored):")
	for _, k := range pipeline.Kinds {
		fmt.Fprintf(out, "  %-6s %8d → %8d  %s\n", k, d.lines[k], d.expected[k], reduction(d.lines[k], d.expected[k]))
	}
	rows, err := d.topDenied(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nTop denied flows (who was denied reaching whom, and by which policy):")
	fmt.Fprintf(out, "  %-40s %-44s %-6s %6s  %s\n", "from (namespace/name_aggr)", "to", "port", "flows", "denied by (tier|policy)")
	for i, r := range rows {
		if i == 10 {
			break
		}
		fmt.Fprintf(out, "  %-40s %-44s %-6s %6d  %s\n", r.From, r.To, r.Port, r.Flows, r.Policy)
	}
	fmt.Fprintf(out, "\nDone in %s. Look further:\n", took.Round(time.Second))
	if d.opts.embedded {
		fmt.Fprintf(out, "  the documents, as an Elasticsearch _bulk body:  %s\n", d.bulkFile)
		fmt.Fprintln(out, "  with Java 17+ and Maven, `make demo` runs the same against a real Kafka and Elasticsearch")
	} else {
		fmt.Fprintf(out, "  %s\n", searchCommand(d.cfg.Index.Elasticsearch))
		fmt.Fprintf(out, "  flowship setup --config <file> --kibana https://<kibana>:5601   # data views and dashboards\n")
	}
	generated := map[string]string{demoSourceCalico: "generated Felix logs: %s/flowlogs", sourceHubble: "generated Hubble exporter files: %s/hubble",
		sourceGoldmane: "the posted Goldmane windows: %s/goldmane/flows.ndjson"}[d.opts.source]
	fmt.Fprintf(out, "  logs of this run: %s/flowship.log; "+generated+"\n", d.opts.dir, d.opts.dir)
	return nil
}

// searchCommand is a curl command for the demo's denied flows that works
// as printed in a POSIX shell: the password comes from the file the demo
// wrote, not from a variable the user's shell does not have.
func searchCommand(es esink.Config) string {
	url := strings.TrimRight(es.URLs[0], "/") + "/" + es.Naming.Pattern(pipeline.KindFlow) + "/_search?q=action:deny&size=3&pretty"
	cmd := "curl"
	if es.Username != "" && es.PasswordFile != "" {
		cmd += " -u " + shellQuote(es.Username+":") + `"$(cat ` + shellQuote(es.PasswordFile) + `)"`
	}
	return cmd + " " + shellQuote(url)
}

// shellQuote quotes s as one word for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// indexToFile is the embedded indexer: the consumer group writes every
// document as a bulk "create" action to a file instead of Elasticsearch.
func (d *demo) indexToFile(ctx context.Context, logOut io.Writer) error {
	prov, err := telemetry.New(telemetry.Config{LogLevel: "warn", LogFormat: "text"}, "index", logOut)
	if err != nil {
		return err
	}
	f, err := os.Create(d.bulkFile)
	if err != nil {
		return err
	}
	defer f.Close()
	sink := &bulkFileSink{w: f, naming: d.cfg.Index.Elasticsearch.Naming}
	reader, err := kafka.NewReader(d.cfg.Index.Consumer, prov.Telemetry(), sink)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return prov.Run(gctx) })
	g.Go(func() error { return reader.Run(gctx) })
	return g.Wait()
}

// bulkFileSink writes records as an Elasticsearch _bulk body.
type bulkFileSink struct {
	mu     sync.Mutex
	w      io.Writer
	naming esink.Naming
}

func (s *bulkFileSink) Consume(_ context.Context, b pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf bytes.Buffer
	for _, r := range b.Records {
		action, _ := json.Marshal(map[string]map[string]string{"create": {"_index": s.naming.Index(r.Kind, r.Time), "_id": r.ID}})
		buf.Write(action)
		buf.WriteByte('\n')
		buf.Write(r.Value)
		buf.WriteByte('\n')
	}
	_, err := s.w.Write(buf.Bytes())
	b.Ack(err)
	return nil
}

type bulkDoc struct {
	index, id string
	doc       []byte
}

// readBulkFile reads a bulk body and keeps the first document of each
// _id, as Elasticsearch's create does.
func readBulkFile(path string) ([]bulkDoc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	seen := map[string]bool{}
	var out []bulkDoc
	for sc.Scan() {
		var a struct {
			Create struct {
				Index string `json:"_index"`
				ID    string `json:"_id"`
			} `json:"create"`
		}
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return out, nil // a half-written last action: counted next poll
		}
		if !sc.Scan() {
			break
		}
		if !seen[a.Create.ID] {
			seen[a.Create.ID] = true
			out = append(out, bulkDoc{index: a.Create.Index, id: a.Create.ID, doc: append([]byte(nil), sc.Bytes()...)})
		}
	}
	return out, sc.Err()
}

// deniedDoc is the part of a flow document the denied table reads.
type deniedDoc struct {
	Action   string `json:"action"`
	SrcNS    string `json:"source_namespace"`
	SrcAggr  string `json:"source_name_aggr"`
	DstNS    string `json:"dest_namespace"`
	DstAggr  string `json:"dest_name_aggr"`
	DestPort *int64 `json:"dest_port"`
	NumFlows int64  `json:"num_flows"`
	Policy   *struct {
		Tier string `json:"tier"`
		Name string `json:"name"`
	} `json:"policy"`
}

func (d deniedDoc) row() deniedRow {
	port := "-"
	if d.DestPort != nil {
		port = fmt.Sprint(*d.DestPort)
	}
	pol := "(no policy recorded)"
	if d.Policy != nil {
		pol = d.Policy.Tier + "|" + d.Policy.Name
	}
	return deniedRow{From: d.SrcNS + "/" + d.SrcAggr, To: d.DstNS + "/" + d.DstAggr, Port: port, Policy: pol, Flows: d.NumFlows}
}

// topDenied sums num_flows of denied flow documents per (from, to, port,
// policy), largest first.
func (d *demo) topDenied(ctx context.Context) ([]deniedRow, error) {
	var docs []deniedDoc
	if d.opts.embedded {
		all, err := readBulkFile(d.bulkFile)
		if err != nil {
			return nil, err
		}
		for _, b := range all {
			var x deniedDoc
			if strings.Contains(b.index, "-flows-") && json.Unmarshal(b.doc, &x) == nil && x.Action == "deny" {
				docs = append(docs, x)
			}
		}
	} else {
		var err error
		if docs, err = d.searchDenied(ctx); err != nil {
			return nil, err
		}
	}
	sums := map[deniedRow]int64{}
	for _, x := range docs {
		r := x.row()
		n := r.Flows
		r.Flows = 0
		sums[r] += n
	}
	rows := make([]deniedRow, 0, len(sums))
	for r, n := range sums {
		r.Flows = n
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Flows != rows[j].Flows {
			return rows[i].Flows > rows[j].Flows
		}
		return rows[i].From+rows[i].To < rows[j].From+rows[j].To
	})
	return rows, nil
}

// searchDenied fetches the denied flow documents from Elasticsearch.
func (d *demo) searchDenied(ctx context.Context) ([]deniedDoc, error) {
	client, err := esink.NewClient(d.cfg.Index.Elasticsearch)
	if err != nil {
		return nil, err
	}
	body := `{"size":10000,"query":{"term":{"action":"deny"}},"_source":["action","source_namespace","source_name_aggr","dest_namespace","dest_name_aggr","dest_port","num_flows","policy"]}`
	res, err := client.Search(client.Search.WithContext(ctx), client.Search.WithIndex(d.cfg.Index.Elasticsearch.Naming.Pattern(pipeline.KindFlow)),
		client.Search.WithBody(strings.NewReader(body)))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.IsError() {
		return nil, fmt.Errorf("searching denied flows: %s", res.Status())
	}
	var r struct {
		Hits struct {
			Hits []struct {
				Source deniedDoc `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return nil, err
	}
	docs := make([]deniedDoc, 0, len(r.Hits.Hits))
	for _, h := range r.Hits.Hits {
		docs = append(docs, h.Source)
	}
	return docs, nil
}
