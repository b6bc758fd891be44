package aggregator

import (
	"fmt"
	"slices"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

// TestSpecWorkedExample checks the spec §3.5 tables: the four level-0
// lines of node N1 re-aggregated at each level give exactly the lines,
// num_flows, packets and bytes the spec lists, and the level-2 source
// labels are the intersection of the two client pods' labels.
func TestSpecWorkedExample(t *testing.T) {
	type row struct {
		srcIP, dstIP     any // string or nil
		srcPort, dstPort any // float64 or nil
		flows, pkOut     int64
		pkIn, bOut, bIn  int64
	}
	tests := []struct {
		level int
		want  []row
	}{
		{0, []row{
			{"10.42.1.11", "10.42.3.21", 40001.0, 8080.0, 1, 4, 5, 900, 500},
			{"10.42.1.11", "10.42.3.21", 40002.0, 8080.0, 1, 2, 3, 400, 300},
			{"10.42.1.12", "10.42.3.22", 51000.0, 8080.0, 1, 2, 2, 250, 200},
			{"10.42.1.12", "10.42.3.22", 51001.0, 9090.0, 1, 1, 1, 80, 60},
		}},
		{1, []row{
			{"10.42.1.11", "10.42.3.21", nil, 8080.0, 2, 6, 8, 1300, 800},
			{"10.42.1.12", "10.42.3.22", nil, 8080.0, 1, 2, 2, 250, 200},
			{"10.42.1.12", "10.42.3.22", nil, 9090.0, 1, 1, 1, 80, 60},
		}},
		{2, []row{
			{nil, nil, nil, 8080.0, 3, 8, 10, 1550, 1000},
			{nil, nil, nil, 9090.0, 1, 1, 1, 80, 60},
		}},
		{3, []row{
			{nil, nil, nil, nil, 4, 9, 11, 1630, 1060},
		}},
	}
	lines := readLines(t, "testdata/spec35_level0/input.jsonl")
	for _, tc := range tests {
		t.Run(fmt.Sprintf("level %d", tc.level), func(t *testing.T) {
			cfg := testConfig()
			cfg.Levels = Levels{Allowed: tc.level, Denied: tc.level}
			docs := aggregate(t, cfg, pipeline.KindFlow, lines...)
			if len(docs) != len(tc.want) {
				t.Fatalf("%d documents, want %d", len(docs), len(tc.want))
			}
			for i, d := range docs {
				w := tc.want[i]
				got := row{d["source_ip"], d["dest_ip"], d["source_port"], d["dest_port"],
					num(t, d, "num_flows"), num(t, d, "packets_out"), num(t, d, "packets_in"),
					num(t, d, "bytes_out"), num(t, d, "bytes_in")}
				if got != w {
					t.Errorf("line %d = %+v, want %+v", i, got, w)
				}
				if tc.level >= 2 && (d["source_name"] != "-" || d["dest_name"] != "-") {
					t.Errorf("line %d: names %v/%v not masked at level %d", i, d["source_name"], d["dest_name"], tc.level)
				}
				if d["source_name_aggr"] != "client-6c8f9d7b4-*" || d["dest_name_aggr"] != "backend-5d4c3b2a1-*" {
					t.Errorf("line %d: name_aggr %v → %v", i, d["source_name_aggr"], d["dest_name_aggr"])
				}
			}
			if tc.level == 2 {
				labels := docs[0]["source_labels"].(map[string]any)["labels"].([]any)
				got := make([]string, len(labels))
				for i, l := range labels {
					got[i] = l.(string)
				}
				slices.Sort(got)
				if want := []string{"app=client", "pod-template-hash=6c8f9d7b4"}; !slices.Equal(got, want) {
					t.Errorf("level 2 source labels = %v, want %v", got, want)
				}
			}
		})
	}
}
