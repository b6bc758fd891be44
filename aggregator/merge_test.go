package aggregator

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
)

func strs(t testing.TB, v any) []string {
	t.Helper()
	if v == nil {
		return nil
	}
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

func labels(t testing.TB, d map[string]any, k string) []string {
	t.Helper()
	if d[k] == nil {
		return nil
	}
	l := strs(t, d[k].(map[string]any)["labels"])
	slices.Sort(l)
	return l
}

// Two Felix windows of one source key fall into one 10m bucket: the
// connections carried from the first window into the second are counted
// once (spec §3.4.2), whatever the order the lines arrive in.
func TestNumFlowsAcrossFelixWindows(t *testing.T) {
	w1 := line(t, baseFlow, map[string]any{"start_time": 1749542400, "end_time": 1749542520,
		"num_flows": 3, "num_flows_started": 3, "num_flows_completed": 0})
	w2 := line(t, baseFlow, map[string]any{"start_time": 1749542520, "end_time": 1749542640,
		"num_flows": 4, "num_flows_started": 1, "num_flows_completed": 4})
	// Another pod of the prefix, first seen in w2 with two connections
	// carried from the previous bucket: distinct connections, all count.
	other := line(t, baseFlow, map[string]any{"start_time": 1749542520, "end_time": 1749542640,
		"source_ip": "10.42.1.12", "source_name": "client-6c8f9d7b4-fghij",
		"num_flows": 2, "num_flows_started": 0, "num_flows_completed": 2})
	cfg := testConfig()
	cfg.Window = 10 * time.Minute
	tests := []struct {
		name                      string
		lines                     [][]byte
		flows, started, completed int64
	}{
		{"in order", [][]byte{w1, w2}, 4, 4, 4},
		{"out of order", [][]byte{w2, w1}, 4, 4, 4},
		{"with another source", [][]byte{w1, other, w2}, 6, 4, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs := aggregate(t, cfg, pipeline.KindFlow, tc.lines...)
			if len(docs) != 1 {
				t.Fatalf("%d documents, want 1", len(docs))
			}
			d := docs[0]
			got := [3]int64{num(t, d, "num_flows"), num(t, d, "num_flows_started"), num(t, d, "num_flows_completed")}
			if want := [3]int64{tc.flows, tc.started, tc.completed}; got != want {
				t.Errorf("num_flows/started/completed = %v, want %v", got, want)
			}
			if num(t, d, "start_time") != 1749542400 || num(t, d, "end_time") != 1749542640 {
				t.Errorf("start/end = %v/%v, want the min/max of the lines", d["start_time"], d["end_time"])
			}
			fs := d["flowship"].(map[string]any)
			if num(t, fs, "bucket_start") != 1749542400 || num(t, fs, "bucket_end") != 1749543000 {
				t.Errorf("bucket = %v..%v", fs["bucket_start"], fs["bucket_end"])
			}
		})
	}
}

// Felix writes one line per distinct policy set of a key, each with the
// full counters (spec §2.3).
func TestPolicySplitLines(t *testing.T) {
	pol := func(e string) map[string]any {
		return map[string]any{"all_policies": []string{e}, "enforced_policies": []string{e}, "pending_policies": []string{e}}
	}
	a := line(t, baseFlow, map[string]any{"policies": pol("0|default|shop/default.old|allow|0")})
	b := line(t, baseFlow, map[string]any{"policies": pol("0|default|shop/default.new|allow|1")})
	t.Run("group_by_policy keeps each split", func(t *testing.T) {
		docs := aggregate(t, testConfig(), pipeline.KindFlow, a, b)
		if len(docs) != 2 {
			t.Fatalf("%d documents, want 2", len(docs))
		}
		for _, d := range docs {
			if num(t, d, "bytes_out") != 900 {
				t.Errorf("bytes_out = %v, want 900", d["bytes_out"])
			}
		}
	})
	t.Run("without group_by_policy the copy is counted once", func(t *testing.T) {
		cfg := testConfig()
		cfg.GroupByPolicy = false
		docs := aggregate(t, cfg, pipeline.KindFlow, a, b)
		if len(docs) != 1 {
			t.Fatalf("%d documents, want 1", len(docs))
		}
		d := docs[0]
		if num(t, d, "bytes_out") != 900 || num(t, d, "packets_in") != 5 || num(t, d, "num_flows") != 1 {
			t.Errorf("counters %v/%v/%v, want those of one line", d["bytes_out"], d["packets_in"], d["num_flows"])
		}
		enforced := strs(t, d["policies"].(map[string]any)["enforced_policies"])
		if len(enforced) != 2 {
			t.Errorf("enforced_policies = %v, want the union of both", enforced)
		}
		if num(t, d["flowship"].(map[string]any), "records") != 2 {
			t.Errorf("records = %v, want 2", d["flowship"])
		}
	})
	t.Run("a second window of the same key still adds up", func(t *testing.T) {
		cfg := testConfig()
		cfg.GroupByPolicy = false
		next := line(t, baseFlow, map[string]any{"start_time": 1749542697, "end_time": 1749542699})
		docs := aggregate(t, cfg, pipeline.KindFlow, a, next)
		if len(docs) != 1 || num(t, docs[0], "bytes_out") != 1800 {
			t.Fatalf("documents %v, want one with bytes_out 1800", docs)
		}
	})
}

func TestLabelIntersection(t *testing.T) {
	calico := []string{"app=client", "projectcalico.org/namespace=shop", "canary=true"}
	single := aggregate(t, testConfig(), pipeline.KindFlow,
		line(t, baseFlow, map[string]any{"source_labels": map[string]any{"labels": calico}}))
	if got := labels(t, single[0], "source_labels"); len(got) != 3 {
		t.Errorf("single line labels = %v, want all three kept (spec §2.4)", got)
	}
	merged := aggregate(t, testConfig(), pipeline.KindFlow,
		line(t, baseFlow, map[string]any{"source_labels": map[string]any{"labels": calico}}),
		line(t, baseFlow, map[string]any{"source_port": 1, "source_labels": map[string]any{"labels": calico}}),
		line(t, baseFlow, map[string]any{"source_port": 2, "source_labels": nil}))
	if got, want := labels(t, merged[0], "source_labels"), []string{"app=client", "canary=true"}; !slices.Equal(got, want) {
		t.Errorf("merged labels = %v, want %v (projectcalico.org/ dropped, null ignored)", got, want)
	}
}

func TestMergedSets(t *testing.T) {
	docs := aggregate(t, testConfig(), pipeline.KindFlow,
		line(t, baseFlow, map[string]any{"dest_domains": []string{"a", "b", "c"}, "nat_outgoing_ports": []int{30009, 30004},
			"original_source_ips": []string{"1.1.1.1"}, "num_original_source_ips": 1,
			"process_name": "/bin/curl", "process_id": "100", "num_process_ids": 1, "num_process_names": 1,
			"process_args": []string{"-s"}, "num_process_args": 1,
			"tcp_mean_smooth_rtt": 100, "tcp_max_smooth_rtt": 300, "tcp_min_mss": 1400, "tcp_mean_mss": 1400,
			"tcp_total_retransmissions": 2, "num_flows": 1}),
		line(t, baseFlow, map[string]any{"source_port": 2, "dest_domains": []string{"c", "d", "e", "f"},
			"nat_outgoing_ports": []int{30001, 30020}, "original_source_ips": []string{"2.2.2.2", "1.1.1.1"}, "num_original_source_ips": 2,
			"process_name": "/bin/curl", "process_id": "101", "num_process_ids": 1, "num_process_names": 1,
			"process_args": []string{"-v"}, "num_process_args": 1,
			"tcp_mean_smooth_rtt": 400, "tcp_max_smooth_rtt": 500, "tcp_min_mss": 1300, "tcp_mean_mss": 1300,
			"tcp_total_retransmissions": 1, "num_flows": 3, "num_flows_started": 3}),
	)
	if len(docs) != 1 {
		t.Fatalf("%d documents, want 1", len(docs))
	}
	d := docs[0]
	if got := strs(t, d["dest_domains"]); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("dest_domains = %v, want the first 5 distinct", got)
	}
	if got := d["nat_outgoing_ports"].([]any); len(got) != 3 || got[0] != 30001.0 || got[1] != 30004.0 || got[2] != 30009.0 {
		t.Errorf("nat_outgoing_ports = %v, want the 3 smallest, sorted", got)
	}
	if got := strs(t, d["original_source_ips"]); len(got) != 2 || num(t, d, "num_original_source_ips") != 2 {
		t.Errorf("original_source_ips = %v (%v)", got, d["num_original_source_ips"])
	}
	if d["process_id"] != "*" || num(t, d, "num_process_ids") != 2 || num(t, d, "num_process_args") != 2 {
		t.Errorf("process_id %v num_process_ids %v num_process_args %v", d["process_id"], d["num_process_ids"], d["num_process_args"])
	}
	// Means weighted by num_flows (1 and 3), min/max/sums as spec §3.4.6.
	if num(t, d, "tcp_mean_smooth_rtt") != (100*1+400*3)/4 || num(t, d, "tcp_max_smooth_rtt") != 500 ||
		num(t, d, "tcp_min_mss") != 1300 || num(t, d, "tcp_total_retransmissions") != 3 {
		t.Errorf("tcp stats: mean srtt %v max %v min mss %v retrans %v", d["tcp_mean_smooth_rtt"],
			d["tcp_max_smooth_rtt"], d["tcp_min_mss"], d["tcp_total_retransmissions"])
	}
}

func TestMergeL7(t *testing.T) {
	a := line(t, baseL7, map[string]any{"count": 2, "duration_mean": 1000, "duration_max": 1500, "latency": 300, "bytes_out": 10,
		"url": "cart-api.shop.svc.cluster.local/api/v2/carts/1/items/9/x?y=1"})
	b := line(t, baseL7, map[string]any{"count": 6, "duration_mean": 3000, "duration_max": 9000, "latency": 700, "bytes_out": 30,
		"url": "cart-api.shop.svc.cluster.local/api/v2/carts/1/items/7", "start_time": 1749542300})
	docs := aggregate(t, testConfig(), pipeline.KindL7, a, b)
	if len(docs) != 1 {
		t.Fatalf("%d documents, want 1 (URLs trimmed to 5 segments merge)", len(docs))
	}
	d := docs[0]
	if num(t, d, "count") != 8 || num(t, d, "latency") != 1000 || num(t, d, "bytes_out") != 40 ||
		num(t, d, "duration_max") != 9000 || num(t, d, "duration_mean") != (2*1000+6*3000)/8 {
		t.Errorf("merged %v", d)
	}
	if d["url"] != "cart-api.shop.svc.cluster.local/api/v2/carts/1/items" || num(t, d, "start_time") != 1749542300 {
		t.Errorf("url %v start %v", d["url"], d["start_time"])
	}
}

func TestL7PerNodeLimit(t *testing.T) {
	cfg := testConfig()
	cfg.L7.PerNodeLimit = 1
	docs := aggregate(t, cfg, pipeline.KindL7,
		line(t, baseL7, nil), line(t, baseL7, map[string]any{"method": "POST", "count": 5}),
		line(t, baseL7, map[string]any{"method": "PUT", "count": 7}))
	if len(docs) != 2 || docs[1]["type"] != unlogged || num(t, docs[1], "count") != 12 {
		t.Fatalf("documents %v, want the first key and one unlogged record counting 12", docs)
	}
}

func TestMergeDNS(t *testing.T) {
	other := map[string]any{
		"client_name": "storefront-7d9c5b6f4-zzzzz", "client_ip": "10.42.1.99", "count": 3,
		"client_labels": map[string]any{"app": "storefront", "pod-template-hash": "other"},
		"servers":       []any{map[string]any{"name": "coredns-2", "ip": "10.42.0.11"}},
		"latency_count": 3, "latency_mean": 1000, "latency_max": 5000000,
		"latency": map[string]any{"count": 3, "mean": 1000, "max": 5000000},
	}
	docs := aggregate(t, testConfig(), pipeline.KindDNS, line(t, baseDNS, nil), line(t, baseDNS, other))
	if len(docs) != 1 {
		t.Fatalf("%d documents, want 1", len(docs))
	}
	d := docs[0]
	if d["client_name"] != "-" || d["client_ip"] != nil {
		t.Errorf("client %v %v not masked at level 1", d["client_name"], d["client_ip"])
	}
	if num(t, d, "count") != 30 || num(t, d, "latency_count") != 30 || num(t, d, "latency_max") != 5000000 ||
		num(t, d, "latency_mean") != (27*412000+3*1000)/30 {
		t.Errorf("counts/latency %v %v %v %v", d["count"], d["latency_count"], d["latency_max"], d["latency_mean"])
	}
	if n := len(d["servers"].([]any)); n != 2 {
		t.Errorf("servers = %v, want the union of 2", d["servers"])
	}
	if l := d["client_labels"].(map[string]any); len(l) != 1 || l["app"] != "storefront" {
		t.Errorf("client_labels = %v, want the intersection", l)
	}
}

func TestDocumentRecords(t *testing.T) {
	cfg := testConfig()
	recs := runLines(t, cfg, pipeline.KindFlow, [][]byte{[]byte(baseFlow)}, 1)
	cfg.Node = "n2"
	other := runLines(t, cfg, pipeline.KindFlow, [][]byte{[]byte(baseFlow)}, 1)
	if len(recs) != 1 || len(other) != 1 {
		t.Fatal("want one document per run")
	}
	r := recs[0]
	if r.Kind != pipeline.KindFlow || r.Node != "n1" || !r.Time.Equal(time.Unix(1749542400, 0)) || len(r.ID) != 32 {
		t.Errorf("record %+v", r)
	}
	if !bytes.Equal(r.Key, other[0].Key) {
		t.Error("Kafka key depends on the node")
	}
	if r.ID == other[0].ID {
		t.Error("_id does not depend on the node")
	}
	d := decode(t, r.Value)
	if d["flowship"].(map[string]any)["id"] != r.ID || d["host"] != "n1" || d["cluster"] != "test" {
		t.Errorf("document meta %v host %v cluster %v", d["flowship"], d["host"], d["cluster"])
	}
	if DocID("c", "n", pipeline.KindFlow, r.Key, 1, 0) == DocID("c", "n", pipeline.KindFlow, r.Key, 1, 1) {
		t.Error("_id does not depend on the part")
	}
}
