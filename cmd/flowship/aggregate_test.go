package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// specRow is one line of the tables in spec §3.5.
type specRow struct {
	SourceIP   *string `json:"source_ip"`
	SourcePort *int64  `json:"source_port"`
	DestIP     *string `json:"dest_ip"`
	DestPort   *int64  `json:"dest_port"`
	NumFlows   int64   `json:"num_flows"`
	Started    int64   `json:"num_flows_started"`
	Completed  int64   `json:"num_flows_completed"`
	PkOut      int64   `json:"packets_out"`
	PkIn       int64   `json:"packets_in"`
	BOut       int64   `json:"bytes_out"`
	BIn        int64   `json:"bytes_in"`
	SrcAggr    string  `json:"source_name_aggr"`
	DstAggr    string  `json:"dest_name_aggr"`
	Labels     *struct {
		Labels []string `json:"labels"`
	} `json:"source_labels"`
}

func (r specRow) String() string {
	s := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	i := func(p *int64) string {
		if p == nil {
			return "null"
		}
		return itoa(*p)
	}
	return strings.Join([]string{s(r.SourceIP), i(r.SourcePort), r.SrcAggr, s(r.DestIP), i(r.DestPort), r.DstAggr,
		itoa(r.NumFlows), itoa(r.Started), itoa(r.Completed), itoa(r.PkOut), itoa(r.PkIn), itoa(r.BOut), itoa(r.BIn)}, " ")
}

func itoa(v int64) string { b, _ := json.Marshal(v); return string(b) }

// TestAggregateReproducesSpec35 runs `flowship aggregate` on the four
// level-0 lines of spec §3.5 and compares with the spec's tables
// (source_ip source_port src_aggr dest_ip dest_port dst_aggr num_flows
// started completed pk_out pk_in B_out B_in).
func TestAggregateReproducesSpec35(t *testing.T) {
	input := filepath.Join("..", "..", "aggregator", "testdata", "spec35_level0", "input.jsonl")
	c, b := "client-6c8f9d7b4-*", "backend-5d4c3b2a1-*"
	tests := []struct {
		level string
		want  []string
	}{
		{"0", []string{
			"10.42.1.11 40001 " + c + " 10.42.3.21 8080 " + b + " 1 1 1 4 5 900 500",
			"10.42.1.11 40002 " + c + " 10.42.3.21 8080 " + b + " 1 1 1 2 3 400 300",
			"10.42.1.12 51000 " + c + " 10.42.3.22 8080 " + b + " 1 1 1 2 2 250 200",
			"10.42.1.12 51001 " + c + " 10.42.3.22 9090 " + b + " 1 1 1 1 1 80 60",
		}},
		{"1", []string{
			"10.42.1.11 null " + c + " 10.42.3.21 8080 " + b + " 2 2 2 6 8 1300 800",
			"10.42.1.12 null " + c + " 10.42.3.22 8080 " + b + " 1 1 1 2 2 250 200",
			"10.42.1.12 null " + c + " 10.42.3.22 9090 " + b + " 1 1 1 1 1 80 60",
		}},
		{"2", []string{
			"null null " + c + " null 8080 " + b + " 3 3 3 8 10 1550 1000",
			"null null " + c + " null 9090 " + b + " 1 1 1 1 1 80 60",
		}},
		{"3", []string{
			"null null " + c + " null null " + b + " 4 4 4 9 11 1630 1060",
		}},
	}
	for _, tc := range tests {
		t.Run("level"+tc.level, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), []string{"aggregate", "--now", specNow, "--level", tc.level, "--kind", "flows", input}, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				var r specRow
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("output is not JSON: %v: %s", err, line)
				}
				got = append(got, r.String())
				if tc.level >= "2" {
					// Labels at level 2+: the intersection of both clients' labels.
					l := append([]string(nil), r.Labels.Labels...)
					sort.Strings(l)
					if strings.Join(l, ",") != "app=client,pod-template-hash=6c8f9d7b4" {
						t.Errorf("labels = %v, want the intersection app=client,pod-template-hash=6c8f9d7b4", l)
					}
				}
			}
			sort.Strings(got)
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("level %s:\n got:\n%s\nwant:\n%s", tc.level, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			wantRatio := map[string]string{"0": "0.0%", "1": "25.0%", "2": "50.0%", "3": "75.0%"}[tc.level]
			if !strings.Contains(errb.String(), "flows             4") || !strings.Contains(errb.String(), wantRatio) {
				t.Errorf("summary does not report 4 lines in and reduction %s:\n%s", wantRatio, errb.String())
			}
		})
	}
}

// specNow is the --now of runs over the spec's 2025-06-10 samples, which
// the default max_age (the retention) refuses by the clock.
const specNow = "2025-06-10T12:00:00Z"

func TestAggregateBadLinesCountedNothingElseLost(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "aggregator", "testdata", "spec35_level0", "input.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(src)), "\n")
	bad := []string{`{"start_time":`, "\x00\x00", `["not","an","object"]`, strings.Repeat("x", 2<<20), `{"start_time":"soon"}`}
	var mixed []string
	for i, l := range lines {
		mixed = append(mixed, l, bad[i%len(bad)])
	}
	mixed = append(mixed, bad[4])
	path := filepath.Join(t.TempDir(), "flows.log")
	if err := os.WriteFile(path, []byte(strings.Join(mixed, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"aggregate", "--now", specNow, "--level", "0", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 4 {
		t.Fatalf("%d documents, want the 4 good lines:\n%s", n, errb.String())
	}
	if !strings.Contains(errb.String(), "over-long lines skipped: 1") {
		t.Errorf("summary does not count the over-long line:\n%s", errb.String())
	}
	if !strings.Contains(errb.String(), ":8: line longer than") {
		t.Errorf("over-long line not reported with file:line:\n%s", errb.String())
	}
}

func TestAggregateUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown kind", []string{"aggregate", "--kind", "bgp", "x"}, "--kind"},
		{"content without kind", []string{"aggregate", unknownContent(t)}, "cannot tell the kind"},
		{"bad level", []string{"aggregate", "--level", "7", "flows.log"}, "levels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errb); code != 2 {
				t.Fatalf("exit %d, want 2 (usage): %s", code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("stderr %q does not mention %q", errb.String(), tc.want)
			}
		})
	}
}
