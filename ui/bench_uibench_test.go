//go:build integration && uibench

// The UI's performance targets (issue 10): each view's API under 1 s at
// p95 over 20 queries with varied filters on 1,000,000 flow documents in
// the real Elasticsearch, and the Flow Visualizer drawing 2,000 arcs in
// under 1 s in Chromium. Not part of `make test`; run it with
//
//	eval "$(bash deploy/local/services.sh env)"
//	go test -tags integration,uibench -run TestUIBench -timeout 60m -v ./ui
//
// FLOWSHIP_UI_BENCH_DOCS sets the document count (default 1,000,000).
package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	goes "github.com/elastic/go-elasticsearch/v8"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
	"github.com/flowship/flowship/retention"
	"github.com/flowship/flowship/schema"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/ui/auth"
)

func TestUIBench(t *testing.T) {
	n := 1_000_000
	if v := os.Getenv("FLOWSHIP_UI_BENCH_DOCS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	es := testenv.ESClient(t)
	naming := esink.DefaultNaming()
	naming.Prefix, naming.Cluster = "uibench", "bench"
	ctx := context.Background()
	rcfg := retention.DefaultConfig()
	rcfg.Naming, rcfg.Mode, rcfg.Replicas = naming, retention.ModeManaged, 0
	specs := map[pipeline.Kind]retention.KindSpec{}
	for _, k := range pipeline.Kinds {
		specs[k] = retention.KindSpec{Mapping: schema.Mapping(k), Settings: schema.Settings(k)}
	}
	if _, err := retention.Apply(ctx, es, rcfg, specs, retention.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	end := time.Now().UTC().Truncate(time.Hour)
	start := end.Add(-24 * time.Hour)
	var have struct{ Count int }
	if res, err := es.Count(es.Count.WithIndex(naming.ReadAlias(pipeline.KindFlow))); err == nil {
		_ = json.NewDecoder(res.Body).Decode(&have)
		res.Body.Close()
	}
	if have.Count < n {
		loadStart := time.Now()
		loadBench(t, es, naming, n-have.Count, start)
		t.Logf("loaded %d flow documents in %s", n-have.Count, time.Since(loadStart).Round(time.Second))
	}
	srv := New(DefaultConfig(), es, testAuth(t, DefaultConfig(), auth.ESEndpoint{}), naming, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.now = func() time.Time { return end }
	h := srv.Handler()
	rng := rand.New(rand.NewPCG(7, 7))
	filters := func(i int) string {
		f := []string{"range=24h", "range=6h", "range=1h", "range=7d"}[i%4]
		switch i % 5 {
		case 1:
			f += "&ns=ns-" + strconv.Itoa(rng.IntN(20))
		case 2:
			f += "&action=deny"
		case 3:
			f += "&label=app%3Dapp-" + strconv.Itoa(rng.IntN(200))
		case 4:
			f += "&tier=security&reporter=src"
		}
		return f
	}
	var report strings.Builder
	fmt.Fprintf(&report, "| view | queries | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|\n")
	for _, view := range []string{"flows/graph", "policies/board", "services/graph", "flowlogs", "services/http", "services/dns"} {
		var ms []float64
		for i := range 20 {
			t0 := time.Now()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/"+view+"?"+filters(i), nil))
			if rec.Code != 200 {
				t.Fatalf("%s: %d %s", view, rec.Code, rec.Body.String())
			}
			ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		}
		slices.Sort(ms)
		fmt.Fprintf(&report, "| %s | 20 | %.0f | %.0f | %.0f |\n", view, ms[9], ms[18], ms[19])
	}
	t.Logf("API on %d flow documents:\n%s", n, report.String())
	renderMs := benchRender(t)
	t.Logf("Flow Visualizer render of 2,000 arcs in Chromium: %v ms (5 runs)", renderMs)
	if out := os.Getenv("FLOWSHIP_UI_BENCH_OUT"); out != "" {
		body := fmt.Sprintf("# flowship ui: API latency and render time\n\nRecorded %s by `go test -tags integration,uibench -run TestUIBench ./ui` (ui/bench_uibench_test.go) on this 2-core machine with the real Elasticsearch 8.19 (1 GiB heap, shared with other work).\n\n## API on %d flow documents (24 h, 200 workloads in 20 namespaces, 10%% denied), 20 queries per view with varied ranges and filters\n\n%s\n## Flow Visualizer: 2,000 arcs drawn in headless Chromium (render + layout, ms, 5 runs)\n\n%v\n",
			time.Now().UTC().Format(time.RFC3339), n, report.String(), renderMs)
		if err := os.WriteFile(out, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// loadBench bulk-loads n synthetic flow documents spread over 24 h from
// start, with policy traces enriched as the indexer does.
func loadBench(t *testing.T, es *goes.Client, naming esink.Naming, n int, start time.Time) {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	const batch = 5000
	var buf []byte
	for done := 0; done < n; done += batch {
		buf = buf[:0]
		for i := 0; i < batch && done+i < n; i++ {
			src, dst := rng.IntN(200), rng.IntN(200)
			at := start.Add(time.Duration(rng.Int64N(int64(24 * time.Hour)))).Truncate(time.Second)
			action, trace := "allow", []string{"0|platform|platform.baseline|pass|0", "1|default|ns-" + strconv.Itoa(dst%20) + "/default.allow-app-" + strconv.Itoa(dst) + "|allow|0"}
			if rng.IntN(10) == 0 {
				action, trace = "deny", []string{"0|platform|platform.baseline|pass|0", "1|security|security.block-ns-" + strconv.Itoa(src%20) + "|deny|" + strconv.Itoa(rng.IntN(4))}
			}
			doc := map[string]any{
				"start_time": at.Unix() - 300, "end_time": at.Unix(), "@timestamp": at.UnixMilli(),
				"source_name_aggr": "app-" + strconv.Itoa(src) + "-*", "source_namespace": "ns-" + strconv.Itoa(src%20), "source_type": "wep",
				"source_labels":  map[string]any{"labels": []string{"app=app-" + strconv.Itoa(src)}},
				"dest_name_aggr": "app-" + strconv.Itoa(dst) + "-*", "dest_namespace": "ns-" + strconv.Itoa(dst%20), "dest_type": "wep",
				"dest_labels": map[string]any{"labels": []string{"app=app-" + strconv.Itoa(dst)}},
				"dest_port":   8080 + rng.IntN(3), "proto": "tcp", "action": action, "reporter": []string{"src", "dst"}[rng.IntN(2)],
				"dest_service_name": "svc-" + strconv.Itoa(dst), "dest_service_namespace": "ns-" + strconv.Itoa(dst%20),
				"policies":  map[string]any{"all_policies": trace, "enforced_policies": trace, "pending_policies": trace},
				"num_flows": 1 + rng.IntN(20), "bytes_in": rng.IntN(1e6), "bytes_out": rng.IntN(1e5), "packets_in": rng.IntN(1000), "packets_out": rng.IntN(1000),
				"flowship": map[string]any{"schema": 1, "id": fmt.Sprintf("b%d", done+i)},
			}
			b, _ := json.Marshal(doc)
			buf = append(buf, `{"index":{"_index":"`...)
			buf = naming.AppendIndex(buf, pipeline.KindFlow, at)
			buf = append(buf, "\"}}\n"...)
			buf = schema.AppendWithPolicyHits(buf, b)
			buf = append(buf, '\n')
		}
		res, err := es.Bulk(bytes.NewReader(buf))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || bytes.Contains(body[:min(len(body), 200)], []byte(`"errors":true`)) {
			t.Fatalf("bulk: %d %.500s", res.StatusCode, body)
		}
	}
	res, err := es.Indices.Refresh(es.Indices.Refresh.WithIndex(naming.ReadAlias(pipeline.KindFlow)))
	if err == nil {
		res.Body.Close()
	}
}

// arcSearcher answers the Flow Visualizer's composite query with n arcs.
type arcSearcher struct{ n int }

func (a arcSearcher) search(_ context.Context, _ string, body any) ([]byte, error) {
	b, _ := json.Marshal(body)
	if bytes.Contains(b, []byte(`"after"`)) {
		return []byte(`{"aggregations":{"c":{"buckets":[]}}}`), nil
	}
	var out bytes.Buffer
	out.WriteString(`{"aggregations":{"c":{"buckets":[`)
	for i := range a.n {
		if i > 0 {
			out.WriteByte(',')
		}
		src, dst := i%150, (i*7+i/150)%150
		action := "allow"
		if i%10 == 0 {
			action = "deny"
		}
		fmt.Fprintf(&out, `{"key":{"st":"wep","sn":"ns-%d","sa":"app-%d-*","dt":"wep","dn":"ns-%d","da":"app-%d-*","a":"%s"},"flows":{"value":%d},"bi":{"value":1000},"bo":{"value":10},"pi":{"value":10},"po":{"value":1},"ports":{"buckets":[{"key":8080,"proto":{"buckets":[{"key":"tcp"}]},"flows":{"value":3}}]},"pol":{"enf":{"names":{"buckets":[{"key":"default.p"}]}}}}`,
			src%20, src, dst%20, dst, action, 1+i%37)
	}
	out.WriteString(`]}}}`)
	return out.Bytes(), nil
}

// benchRender opens the Flow Visualizer on 2,000 arcs five times and
// returns the render times the page measured (data-render-ms).
func benchRender(t *testing.T) []string {
	s := &Server{cfg: DefaultConfig(), es: arcSearcher{2000}, auth: testAuth(t, DefaultConfig(), auth.ESEndpoint{}), naming: esink.DefaultNaming(), log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	ctx := browser(t)
	var out []string
	for i := range 5 {
		if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/?run=%d#visualizer", ts.URL, i)), chromedp.WaitVisible(chromedp.CSS(`body[data-state=ready]`))); err != nil {
			t.Fatal(err)
		}
		n := count(ctx, t, "path.arc")
		if n != 2000 {
			t.Fatalf("%d arcs drawn, want 2000", n)
		}
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.renderMs`))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ms)
	}
	return out
}
