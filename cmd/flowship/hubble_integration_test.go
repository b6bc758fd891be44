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
	"github.com/flowship/flowship/schema"
	"github.com/flowship/flowship/schema/synth"
)

// TestHubbleCollectKafkaSIGKILLToElasticsearch: the synth generator's
// Hubble exporter events (schema/synth, as `flowship gen --kind hubble`
// writes them, with a few bad lines mixed in) are appended to events.log,
// which the generator rotates the exporter's way (lumberjack: renamed to
// events-<time>.log, a new events.log opened) twice while the file grows;
// `flowship collect` with inputs.hubble runs as a process and is SIGKILLed
// twice meanwhile; the indexer puts the topics into Elasticsearch.
// Elasticsearch must then hold exactly the documents `flowship aggregate
// --kind hubble` makes of the same files: the same _ids, each once, with
// the same counters.
func TestHubbleCollectKafkaSIGKILLToElasticsearch(t *testing.T) {
	t.Parallel()
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 11))
	e := newE2E(t, testenv.Elasticsearch(t), nil)
	bin := buildFlowship(t)
	hdir := filepath.Join(e.dir, "hubble")
	cfgPath := e.hubbleConfig(hdir)

	base := time.Now().Add(-2 * time.Hour).Truncate(5 * time.Minute)
	// About 600 bytes an event: 6000 events rotate twice at 1.5MiB.
	gen := synth.NewHubbleWriter(hdir, seed, base, 3<<19, 0)
	c := e.startCollector(bin, cfgPath, 0)
	kills := 0
	const events, chunk = 6000, 250
	for i := 0; i < events; i += chunk {
		if err := gen.WriteEvents(chunk); err != nil {
			t.Fatal(err)
		}
		// A bad line now and then: counted and skipped, nothing else lost.
		if i%1000 == 0 {
			if err := gen.WriteRaw(base, `{"flow":{"time":"`+base.Format(time.RFC3339)+`","verdict":"NOT_A_VERDICT"}}`); err != nil {
				t.Fatal(err)
			}
		}
		if i == 1500 || i == 4500 {
			time.Sleep(randDuration(rng, 200*time.Millisecond, time.Second))
			c.kill(t)
			kills++
			c = e.startCollector(bin, cfgPath, kills)
		}
		time.Sleep(25 * time.Millisecond)
	}
	written, err := gen.Close()
	if err != nil {
		t.Fatal(err)
	}
	if written.Rotations < 2 {
		t.Fatalf("the generator rotated events.log %d times, want at least 2", written.Rotations)
	}
	files := append(written.Backups, written.Live)

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
	e.logf("%d events in %d files (%d rotations), collector SIGKILLed %d times; offline: %d documents", events, len(files), written.Rotations, kills, len(want))

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
	// Hubble's num_flows counts events: the flows documents' num_flows add
	// up to the flow events in the files (counted here line by line).
	var flowEvents int64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if _, ev, err := schema.ParseHubble([]byte(l)); err == nil && ev == schema.HubbleFlowEvent {
				flowEvents++
			}
		}
	}
	if sums["num_flows"] != flowEvents {
		t.Errorf("Elasticsearch num_flows %d, want the %d flow events", sums["num_flows"], flowEvents)
	}
	if float64(sums["num_flows"]) != offlineFlows || float64(sums["flowship.records"]+l7["flowship.records"]) != offlineRecords {
		t.Errorf("Elasticsearch num_flows %d, records %d+%d; offline %v, %v", sums["num_flows"], sums["flowship.records"], l7["flowship.records"], offlineFlows, offlineRecords)
	}
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
