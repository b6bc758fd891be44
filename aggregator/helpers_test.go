package aggregator

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

// baseFlow is a full Felix flow line (spec §3.5 connection c1).
const baseFlow = `{"start_time":1749542400,"end_time":1749542697,"source_ip":"10.42.1.11","source_name":"client-6c8f9d7b4-abcde","source_name_aggr":"client-6c8f9d7b4-*","source_namespace":"shop","nat_outgoing_ports":null,"source_port":40001,"source_type":"wep","source_labels":{"labels":["app=client","pod-template-hash=6c8f9d7b4","canary=true"]},"dest_ip":"10.42.3.21","dest_name":"backend-5d4c3b2a1-xyz12","dest_name_aggr":"backend-5d4c3b2a1-*","dest_namespace":"shop","dest_port":8080,"dest_type":"wep","dest_labels":{"labels":["app=backend","pod-template-hash=5d4c3b2a1"]},"dest_service_namespace":"-","dest_service_name":"-","dest_service_port":"-","dest_service_port_num":null,"dest_domains":null,"proto":"tcp","action":"allow","reporter":"src","policies":{"all_policies":["0|default|shop/default.client-to-backend|allow|0"],"enforced_policies":["0|default|shop/default.client-to-backend|allow|0"],"pending_policies":["0|default|shop/default.client-to-backend|allow|0"]},"bytes_in":500,"bytes_out":900,"num_flows":1,"num_flows_started":1,"num_flows_completed":1,"packets_in":5,"packets_out":4,"http_requests_allowed_in":0,"http_requests_denied_in":0,"process_name":"-","num_process_names":0,"process_id":"-","num_process_ids":0,"process_args":["-"],"num_process_args":0,"original_source_ips":null,"num_original_source_ips":0,"tcp_mean_send_congestion_window":0,"tcp_min_send_congestion_window":0,"tcp_mean_smooth_rtt":0,"tcp_max_smooth_rtt":0,"tcp_mean_min_rtt":0,"tcp_max_min_rtt":0,"tcp_mean_mss":0,"tcp_min_mss":0,"tcp_total_retransmissions":0,"tcp_lost_packets":0,"tcp_unrecovered_to":0}`

const baseL7 = `{"start_time":1749542400,"end_time":1749542701,"duration_mean":4000000,"duration_max":11000000,"latency":9000000,"bytes_in":0,"bytes_out":73440,"count":12,"src_name_aggr":"storefront-7d9c5b6f4-*","src_namespace":"shop","src_type":"wep","source_port_num":0,"dest_name_aggr":"cart-api-5f8b7c9d6-*","dest_namespace":"shop","dest_type":"wep","dest_port_num":8080,"dest_service_name":"cart-api","dest_service_namespace":"shop","dest_service_port_name":"http","dest_service_port":80,"method":"GET","user_agent":"-","url":"cart-api.shop.svc.cluster.local/api/v2/carts/8812/items","response_code":"200","type":"-"}`

const baseDNS = `{"start_time":"2025-06-10T08:00:03.118204551Z","end_time":"2025-06-10T08:05:01.774310022Z","type":"log","count":27,"client_name":"storefront-7d9c5b6f4-abcde","client_name_aggr":"storefront-7d9c5b6f4-*","client_namespace":"shop","client_ip":"10.42.1.11","client_labels":{"app":"storefront","pod-template-hash":"7d9c5b6f4"},"servers":[{"name":"coredns-5d78c9869d-9wq2k","name_aggr":"coredns-5d78c9869d-*","namespace":"kube-system","ip":"10.42.0.10","labels":{"k8s-app":"kube-dns"}}],"qname":"cart-api.shop.svc.cluster.local","qclass":"IN","qtype":"A","rcode":"NoError","rrsets":[{"name":"cart-api.shop.svc.cluster.local","class":"IN","type":"A","rdata":["10.43.112.40"]}],"latency":{"count":27,"mean":412000,"max":1870000},"latency_count":27,"latency_mean":412000,"latency_max":1870000}`

// line returns base with the given top-level keys replaced (nil values
// become JSON null).
func line(t testing.TB, base string, mods map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range mods {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decode parses a document into a map.
func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("document %s: %v", b, err)
	}
	return m
}

func num(t testing.TB, m map[string]any, k string) int64 {
	t.Helper()
	v, ok := m[k].(float64)
	if !ok {
		t.Fatalf("field %s = %v (%T), want a number", k, m[k], m[k])
	}
	return int64(v)
}

// testConfig is DefaultConfig with cluster and node set.
func testConfig() Config {
	c := DefaultConfig()
	c.Cluster, c.Node = "test", "n1"
	return c
}

// aggregate runs lines of one kind through a fresh aggregator in one
// batch, flushes, and returns the decoded documents.
func aggregate(t testing.TB, cfg Config, kind pipeline.Kind, lines ...[]byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range runLines(t, cfg, kind, lines, max(len(lines), 1)) {
		out = append(out, decode(t, r.Value))
	}
	return out
}

// ackRecorder collects the errors input Acks were called with.
type ackRecorder struct {
	mu   sync.Mutex
	errs map[int]error
	n    map[int]int
}

func (r *ackRecorder) ack(i int) pipeline.Ack {
	return func(err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.errs == nil {
			r.errs, r.n = map[int]error{}, map[int]int{}
		}
		r.errs[i] = err
		r.n[i]++
	}
}

func (r *ackRecorder) get(i int) (calls int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[i], r.errs[i]
}

// consume sends one batch of raw lines.
func consume(t testing.TB, a *Aggregator, kind pipeline.Kind, ack pipeline.Ack, lines ...[]byte) {
	t.Helper()
	recs := make([]pipeline.Record, len(lines))
	for i, l := range lines {
		recs[i] = pipeline.Record{Kind: kind, Value: l, Source: "f.log", Offset: int64(i), Line: int64(i + 1)}
	}
	if err := a.Consume(context.Background(), pipeline.Batch{Records: recs, Ack: ack}); err != nil {
		t.Fatal(err)
	}
}
