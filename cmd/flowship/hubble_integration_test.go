//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// TestHubbleCollectKafkaSIGKILLToElasticsearch: Hubble exporter events are
// appended to events.log, which is rotated the exporter's way (renamed to
// events-<n>.log, a new events.log opened); `flowship collect` with
// inputs.hubble runs as a process and is SIGKILLed twice while the file
// grows; the indexer puts the topics into Elasticsearch. Elasticsearch must
// then hold exactly the documents `flowship aggregate --kind hubble` makes
// of the same files: the same _ids, each once, with the same counters.
func TestHubbleCollectKafkaSIGKILLToElasticsearch(t *testing.T) {
	t.Parallel()
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 11))
	e := newE2E(t, testenv.Elasticsearch(t), nil)
	bin := buildFlowship(t)
	hdir := filepath.Join(e.dir, "hubble")
	if err := os.MkdirAll(hdir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := e.hubbleConfig(hdir)

	var files []string
	live := filepath.Join(hdir, "events.log")
	f, err := os.OpenFile(live, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-2 * time.Hour).Truncate(5 * time.Minute)
	c := e.startCollector(bin, cfgPath, 0)
	kills := 0
	const events = 6000
	for i := 0; i < events; i++ {
		if _, err := f.WriteString(hubbleEvent(rng, base.Add(time.Duration(i)*150*time.Millisecond)) + "\n"); err != nil {
			t.Fatal(err)
		}
		switch i {
		case 2000, 4000: // the exporter rotates by rename
			f.Close()
			rotated := filepath.Join(hdir, fmt.Sprintf("events-%d.log", i))
			if err := os.Rename(live, rotated); err != nil {
				t.Fatal(err)
			}
			files = append(files, rotated)
			if f, err = os.OpenFile(live, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
				t.Fatal(err)
			}
		case 1500, 4500:
			time.Sleep(randDuration(rng, 200*time.Millisecond, time.Second))
			c.kill(t)
			kills++
			c = e.startCollector(bin, cfgPath, kills)
		}
		if i%500 == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	f.Close()
	files = append(files, live)

	var out, errb bytes.Buffer
	args := append([]string{"aggregate", "--config", cfgPath, "--kind", "hubble"}, files...)
	agg := exec.Command(bin, args...)
	agg.Env, agg.Stdout, agg.Stderr = e.environ(), &out, &errb
	if err := agg.Run(); err != nil {
		t.Fatalf("offline aggregate: %v: %s", err, errb.String())
	}
	want := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var d map[string]any
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		want[d["flowship"].(map[string]any)["id"].(string)] = d
	}
	e.logf("%d events in %d files, collector SIGKILLed %d times; offline: %d documents", events, len(files), kills, len(want))

	indexer := e.start("index", e.cfg, index)
	e.waitLanded(len(want), 3*time.Minute, func() { c.running(t); indexer.running(t) })
	c.terminate(t)
	indexer.shutdown(t)
	ctx := context.Background()
	got := e.esDocs(ctx)
	for id := range want {
		if len(got[id]) != 1 {
			t.Errorf("document %s of the offline run: in %d indices", id, len(got[id]))
		}
	}
	var offlineFlows, offlineRecords float64
	for _, d := range want {
		if n, ok := d["num_flows"].(float64); ok {
			offlineFlows += n
		}
		offlineRecords += d["flowship"].(map[string]any)["records"].(float64)
	}
	sums := e.esSums(ctx, "flows", []string{"num_flows", "flowship.records"})
	l7 := e.esSums(ctx, "l7", []string{"flowship.records"})
	if float64(sums["num_flows"]) != offlineFlows || float64(sums["flowship.records"]+l7["flowship.records"]) != offlineRecords {
		t.Errorf("Elasticsearch num_flows %d, records %d+%d; offline %v, %v", sums["num_flows"], sums["flowship.records"], l7["flowship.records"], offlineFlows, offlineRecords)
	}
}

// hubbleEvent returns one exporter line at tm: a TCP flow between a few
// pods (a SYN, a later packet or a reply), now and then an HTTP response,
// a lost-events record or a bad line.
func hubbleEvent(rng *rand.Rand, tm time.Time) string {
	ts := tm.UTC().Format(time.RFC3339Nano)
	src, dst := rng.IntN(6), rng.IntN(4)
	switch n := rng.IntN(100); {
	case n < 2:
		return `{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"3"},"node_name":"e2e/e2e-node-1","time":"` + ts + `"}`
	case n < 3:
		return `{"flow":{"time":"` + ts + `","verdict":"NOT_A_VERDICT"}}`
	case n < 10:
		return fmt.Sprintf(`{"flow":{"time":"%s","verdict":"FORWARDED","IP":{"source":"10.1.0.%d","destination":"10.2.0.%d"},"l4":{"TCP":{"source_port":8080,"destination_port":%d}},"source":{"namespace":"shop","pod_name":"api-%d-5f8b7c9d6-q9w2e","workloads":[{"name":"api-%d","kind":"Deployment"}]},"destination":{"namespace":"web","pod_name":"client-%d-7d9c5b6f4-2xk8p"},"Type":"L7","l7":{"type":"RESPONSE","latency_ns":"%d","http":{"code":%d,"method":"GET","url":"http://api-%d.shop/x","protocol":"HTTP/1.1"}},"is_reply":true,"traffic_direction":"INGRESS"},"node_name":"e2e/e2e-node-1"}`,
			ts, dst, src, 40000+src, dst, dst, src, 1000+rng.IntN(1000000), []int{200, 404, 503}[rng.IntN(3)], dst)
	}
	verdict, flags, reply := "FORWARDED", `{"ACK":true}`, false
	switch rng.IntN(5) {
	case 0:
		flags = `{"SYN":true}`
	case 1:
		verdict, flags = "DROPPED", `{"SYN":true}`
	case 2:
		reply = true
	}
	s, d, sp, dp := fmt.Sprintf("10.1.0.%d", src), fmt.Sprintf("10.2.0.%d", dst), 40000+src, 8080
	sep := fmt.Sprintf(`{"namespace":"web","pod_name":"client-%d-7d9c5b6f4-2xk8p","labels":["k8s:app=client"]}`, src)
	dep := fmt.Sprintf(`{"namespace":"shop","pod_name":"api-%d-5f8b7c9d6-q9w2e","workloads":[{"name":"api-%d","kind":"Deployment"}]}`, dst, dst)
	if reply {
		s, d, sp, dp, sep, dep = d, s, dp, sp, dep, sep
	}
	return fmt.Sprintf(`{"flow":{"time":"%s","verdict":"%s","IP":{"source":"%s","destination":"%s"},"l4":{"TCP":{"source_port":%d,"destination_port":%d,"flags":%s}},"source":%s,"destination":%s,"traffic_direction":"EGRESS","is_reply":%v,"egress_allowed_by":[{"name":"allow-web","namespace":"web"}]},"node_name":"e2e/e2e-node-1","time":"%s"}`,
		ts, verdict, s, d, sp, dp, flags, sep, dep, reply, ts)
}

// hubbleConfig writes the test's configuration with the Felix flows and
// L7 inputs off and inputs.hubble on over dir, and returns its path.
func (e *e2e) hubbleConfig(dir string) string {
	e.t.Helper()
	src, err := os.ReadFile(e2eConfigFile)
	if err != nil {
		e.t.Fatal(err)
	}
	// The ${IT_*} references stay: the flowship process expands them from
	// its environment (e.environ), as in the other end-to-end tests.
	s := string(src)
	for _, k := range []string{"flows", "l7"} {
		old := "  " + k + ":\n    enabled: true\n"
		if !strings.Contains(s, old) {
			e.t.Fatalf("%s: no %q to turn off", e2eConfigFile, old)
		}
		s = strings.Replace(s, old, "  "+k+":\n    enabled: false\n", 1)
	}
	s = strings.Replace(s, "inputs:\n", fmt.Sprintf("inputs:\n  hubble:\n    enabled: true\n    paths: [%s/events.log, %s/events-*.log]\n    positions_file: %s/state/hubble-flows.positions.json\n    l7_positions_file: %s/state/hubble-l7.positions.json\n    poll_interval: 100ms\n    linger: 200ms\n",
		dir, dir, e.dir, e.dir), 1)
	p := filepath.Join(e.dir, "hubble.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// startCollector runs `flowship collect --config cfgPath`; its output goes
// to logs/collect-<n>.log.
func (e *e2e) startCollector(bin, cfgPath string, n int) *process {
	e.t.Helper()
	return e.startFlowship(bin, "collect", cfgPath, n)
}
