package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func unknownContent(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "whatever.txt")
	if err := os.WriteFile(p, []byte("\n{\"x\":1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSniffKind(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		`{"flow":{"time":"2023-08-21T12:12:13Z","verdict":"DROPPED"},"node_name":"a/b"}`:                                       "hubble",
		`{"lost_events":{},"node_name":"my-node","time":"1970-01-01T00:00:04Z"}`:                                               "hubble",
		`{"start_time":1,"end_time":2,"source_name_aggr":"x","source_namespace":"-"}`:                                          "flows",
		`{"start_time":1,"end_time":2,"src_name_aggr":"x"}`:                                                                    "l7",
		`{"start_time":"2025-06-10T08:00:00Z","end_time":"2025-06-10T08:05:00Z","qname":"example.org","count":1,"type":"log"}`: "dns",
	}
	i := 0
	for line, want := range cases {
		i++
		p := filepath.Join(dir, "input"+string(rune('0'+i))+".jsonl")
		if err := os.WriteFile(p, []byte("\n"+line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := inputKind(p, "")
		if err != nil || got != want {
			t.Errorf("%s: got %q %v, want %q", line, got, err, want)
		}
	}
}

// Hubble events, hand-aggregated: four ingress TCP events of one
// storefront -> cart-api connection in one 5-minute window (a SYN, two
// ACKs in the same second, a reply) make one flows document of 4 records
// with num_flows 4 (Hubble's num_flows counts events, issue 9; two equal
// events in one second are two events, not a Felix policy-split copy)
// and num_flows_started 1 (the SYN; a reply never starts a connection);
// start_time is the first event's second; a lost_events line and an
// agent event make no document; the L7 response makes one L7 document.
func TestAggregateHubbleFile(t *testing.T) {
	ev := func(tm, extra string) string {
		return `{"flow":{"time":"2025-06-10T08:0` + tm + `Z","verdict":"FORWARDED","IP":{"source":"10.42.3.17","destination":"10.42.7.9"},"l4":{"TCP":{"source_port":51544,"destination_port":8080` + extra + `}},"source":{"namespace":"shop","pod_name":"storefront-7d9c5b6f4-2xk8p","workloads":[{"name":"storefront","kind":"Deployment"}]},"destination":{"namespace":"shop","pod_name":"cart-api-5f8b7c9d6-q9w2e","workloads":[{"name":"cart-api","kind":"Deployment"}]},"traffic_direction":"INGRESS"},"node_name":"prod/n1"}`
	}
	reply := `{"flow":{"time":"2025-06-10T08:03:00Z","verdict":"FORWARDED","IP":{"source":"10.42.7.9","destination":"10.42.3.17"},"l4":{"TCP":{"source_port":8080,"destination_port":51544,"flags":{"ACK":true}}},"source":{"namespace":"shop","pod_name":"cart-api-5f8b7c9d6-q9w2e","workloads":[{"name":"cart-api","kind":"Deployment"}]},"destination":{"namespace":"shop","pod_name":"storefront-7d9c5b6f4-2xk8p","workloads":[{"name":"storefront","kind":"Deployment"}]},"traffic_direction":"INGRESS","is_reply":true},"node_name":"prod/n1"}`
	l7 := `{"flow":{"time":"2025-06-10T08:03:01Z","verdict":"FORWARDED","IP":{"source":"10.42.7.9","destination":"10.42.3.17"},"l4":{"TCP":{"source_port":8080,"destination_port":51544}},"source":{"namespace":"shop","pod_name":"cart-api-5f8b7c9d6-q9w2e"},"destination":{"namespace":"shop","pod_name":"storefront-7d9c5b6f4-2xk8p"},"Type":"L7","l7":{"type":"RESPONSE","latency_ns":"1000","http":{"code":200,"method":"GET","url":"http://cart-api/x","protocol":"HTTP/1.1"}},"is_reply":true},"node_name":"prod/n1"}`
	lines := []string{
		ev("1:00", `,"flags":{"SYN":true}`), ev("2:00", `,"flags":{"ACK":true}`), ev("2:00", `,"flags":{"ACK":true}`), reply,
		`{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"3"},"node_name":"prod/n1"}`,
		`{"agent_event":{},"node_name":"prod/n1"}`, l7,
	}
	p := filepath.Join(t.TempDir(), "events.log")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"aggregate", "--now", "2025-06-10T12:00:00Z", "--level", "2", p}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var flows, l7s []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var d map[string]any
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		if _, ok := d["src_name_aggr"]; ok {
			l7s = append(l7s, d)
		} else {
			flows = append(flows, d)
		}
	}
	if len(flows) != 1 || len(l7s) != 1 {
		t.Fatalf("%d flows and %d L7 documents, want 1 and 1:\n%s", len(flows), len(l7s), out.String())
	}
	f := flows[0]
	for k, want := range map[string]any{"num_flows": 4.0, "num_flows_started": 1.0, "num_flows_completed": 0.0, "source_name_aggr": "storefront-*", "dest_name_aggr": "cart-api-*",
		"dest_port": 8080.0, "reporter": "dst", "action": "allow", "verdict": "FORWARDED", "start_time": 1749542460.0, "end_time": 1749542580.0} {
		if f[k] != want {
			t.Errorf("flows %s = %v, want %v", k, f[k], want)
		}
	}
	if recs := f["flowship"].(map[string]any)["records"]; recs != 4.0 {
		t.Errorf("flowship.records = %v, want 4 events", recs)
	}
	if l7s[0]["src_name_aggr"] != "storefront-7d9c5b6f4-*" || l7s[0]["count"] != 1.0 || l7s[0]["response_code"] != "200" {
		t.Errorf("L7 document %v", l7s[0])
	}
}

func TestAggregateGoldmaneFile(t *testing.T) {
	dir := t.TempDir()
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"gen", "--kind", "goldmane", "--windows", "2", "--flows-per-window", "20", "--out", dir}, &bytes.Buffer{}, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	p := filepath.Join(dir, "goldmane", "flows.ndjson")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// A third line that is not a Goldmane record: reported, skipped.
	lines := strings.SplitAfter(string(b), "\n")
	lines = append(lines[:2], append([]string{`{"Key":{"action":9},"start_time":1,"end_time":2}` + "\n"}, lines[2:]...)...)
	renamed := filepath.Join(dir, "window.jsonl")
	if err := os.WriteFile(renamed, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	errb.Reset()
	if code := run(context.Background(), []string{"aggregate", "--now", "2025-06-10T12:00:00Z", renamed}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 40 {
		t.Errorf("%d documents, want the 40 records", n)
	}
	if !strings.Contains(errb.String(), "window.jsonl:3: field \"Key.action\"") || !strings.Contains(errb.String(), "41 records, 40 documents") {
		t.Errorf("stderr:\n%s", errb.String())
	}
}

// An AUDIT event's pending trace holds the would-be deny, so at the
// default levels (allowed 2, denied 1) it is aggregated at the denied
// level and keeps its pod names, while a FORWARDED event of the same pair
// is aggregated at level 2 (names "-"), as docs/sources.md says.
func TestAggregateHubbleAuditUsesTheDeniedLevel(t *testing.T) {
	ev := func(verdict string) string {
		return `{"flow":{"time":"2025-06-10T08:01:00Z","verdict":"` + verdict + `","IP":{"source":"10.42.3.17","destination":"10.42.7.9"},"l4":{"TCP":{"source_port":51544,"destination_port":8080,"flags":{"SYN":true}}},"source":{"namespace":"shop","pod_name":"storefront-7d9c5b6f4-2xk8p"},"destination":{"namespace":"shop","pod_name":"cart-api-5f8b7c9d6-q9w2e"},"traffic_direction":"INGRESS"},"node_name":"prod/n1"}`
	}
	p := filepath.Join(t.TempDir(), "events.log")
	if err := os.WriteFile(p, []byte(ev("AUDIT")+"\n"+ev("FORWARDED")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"aggregate", "--now", "2025-06-10T12:00:00Z", p}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := map[string][2]any{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var d map[string]any
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		got[d["verdict"].(string)] = [2]any{d["flowship"].(map[string]any)["level"], d["source_name"]}
	}
	want := map[string][2]any{"AUDIT": {1.0, "storefront-7d9c5b6f4-2xk8p"}, "FORWARDED": {2.0, "-"}}
	if len(got) != 2 || got["AUDIT"] != want["AUDIT"] || got["FORWARDED"] != want["FORWARDED"] {
		t.Fatalf("level and source_name by verdict: got %v, want %v\n%s", got, want, out.String())
	}
}
