package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

func TestHubbleInputConfig(t *testing.T) {
	write := func(body string) string {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, err := readConfig(write("inputs:\n  hubble:\n    enabled: true\n"), SecInputs)
	if err == nil || !strings.Contains(err.Error(), "inputs.flows.enabled: false") || !strings.Contains(err.Error(), "inputs.l7.enabled: false") {
		t.Fatalf("err = %v, want the flows and l7 conflicts named", err)
	}
	cfg, err := readConfig(write("inputs:\n  flows: {enabled: false}\n  l7: {enabled: false}\n  hubble:\n    enabled: true\n    paths: [/h/events.log, /h/events-*.log]\n    positions_file: /p/f.json\n    l7_positions_file: /p/l.json\n"), SecInputs)
	if err != nil {
		t.Fatal(err)
	}
	ts := cfg.Inputs.Hubble.tailers()
	if len(ts) != 2 || ts[0].Kind != pipeline.KindFlow || ts[0].PositionsFile != "/p/f.json" ||
		ts[1].Kind != pipeline.KindL7 || ts[1].PositionsFile != "/p/l.json" || ts[1].Paths[1] != "/h/events-*.log" {
		t.Fatalf("tailers %+v", ts)
	}
	_, err = readConfig(write("inputs:\n  flows: {enabled: false}\n  hubble:\n    enabled: true\n    l7: false\n    max_line_size: 1B\n"), SecInputs)
	if err == nil || !strings.Contains(err.Error(), "inputs.hubble (flows)") || !strings.Contains(err.Error(), "max_line_size") {
		t.Fatalf("err = %v, want the bad key named", err)
	}
	def := defaultHubbleInput()
	if def.Enabled || !def.L7 || def.Paths[0] != "/var/run/cilium/hubble/events.log" {
		t.Fatalf("defaults %+v", def)
	}
}
