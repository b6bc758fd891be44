package aggregator

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
)

// Independent oracles for the L7 and DNS goldens (testdata/l7_default_knobs,
// testdata/dns_level1). Their want.jsonl files were written by the
// aggregator itself (go test -update); the expectations below are computed
// by hand from the spec (/work/shared/spec/calico-flow-logs.md §4.4 and §5)
// and the five input lines of each case, with the derivation beside each
// number. Both the aggregator's output and the stored want.jsonl must agree
// with them, so a golden can no longer drift with the code unnoticed.
//
// Every input line ends at 1749542701 (2025-06-10T08:05:01Z, DNS
// 08:05:01.774310022Z): bucket floor(1749542701/300)*300 = 1749542700, end
// 1749543000.

// oracleDoc is a hand-computed document: the fields to check, as JSON
// values (numbers as float64, like encoding/json decodes them).
type oracleDoc map[string]any

// TestL7GoldenOracle: testdata/l7_default_knobs, Felix's default knobs
// (spec §4.4): ExcludeL7HTTPHeaderInfo masks user_agent and type to "-";
// IncludeL7SourceInfoNoPort sets source_port_num to 0; IncludeL7FullURL
// with NumURLPath 5 strips the query and keeps 5 path segments; method and
// response_code stay in the key.
//
//	line 1: GET 200 HTTP/1.1 ua Go-http-client port 51544
//	        url …/api/v2/carts/8812/items?expand=true → …/api/v2/carts/8812/items
//	        count 12, mean 4 ms, max 11 ms, latency 9 ms, out 73440
//	line 2: GET 200 HTTP/1.1 ua curl port 51545
//	        url …/api/v2/carts/8812/items/17/price?x=1 → query stripped, first
//	        5 segments: …/api/v2/carts/8812/items — the key of line 1
//	        count 3, mean 2 ms, max 3 ms, latency 1 ms, out 73440
//	  → one document: count 12+3 = 15; bytes_out 2×73440 = 146880;
//	    duration_mean = total duration / count = (12×4 + 3×2) ms / 15 = 3.6 ms
//	    = 3600000 ns; duration_max = max(11, 3) ms = 11000000 ns;
//	    latency is a sum (§4.4): 9+1 ms = 10000000 ns; 2 records.
//	line 3: POST 201 (other method and code): alone, count 2, bytes_in 512.
//	line 4: GET 503 HTTP/2: type is masked, the code differs: alone, count 1.
//	line 5: the "unlogged" overflow record Felix emits after aggregation
//	        (count 438, every other field at its zero value): not a key of
//	        real traffic, so not masked — kept as it is.
func TestL7GoldenOracle(t *testing.T) {
	const url = "cart-api.shop.svc.cluster.local/api/v2/carts/8812/items"
	common := oracleDoc{
		"start_time": 1749542400.0, "end_time": 1749542701.0,
		"src_name_aggr": "storefront-7d9c5b6f4-*", "src_namespace": "shop", "src_type": "wep", "source_port_num": 0.0,
		"dest_name_aggr": "cart-api-5f8b7c9d6-*", "dest_namespace": "shop", "dest_type": "wep", "dest_port_num": 8080.0,
		"dest_service_name": "cart-api", "dest_service_namespace": "shop", "dest_service_port_name": "http", "dest_service_port": 80.0,
		"user_agent": "-", "type": "-", "url": url,
	}
	want := []oracleDoc{
		with(common, oracleDoc{"method": "GET", "response_code": "200", "count": 15.0, "bytes_in": 0.0, "bytes_out": 146880.0,
			"duration_mean": 3600000.0, "duration_max": 11000000.0, "latency": 10000000.0, "flowship.records": 2.0}),
		with(common, oracleDoc{"method": "POST", "response_code": "201", "count": 2.0, "bytes_in": 512.0, "bytes_out": 73440.0,
			"duration_mean": 4000000.0, "duration_max": 11000000.0, "latency": 9000000.0, "flowship.records": 1.0}),
		with(common, oracleDoc{"method": "GET", "response_code": "503", "count": 1.0, "bytes_in": 0.0, "bytes_out": 73440.0,
			"duration_mean": 4000000.0, "duration_max": 11000000.0, "latency": 9000000.0, "flowship.records": 1.0}),
		{"start_time": 1749542400.0, "end_time": 1749542701.0, "type": "unlogged", "count": 438.0,
			"method": "", "response_code": "", "url": "", "user_agent": "", "src_name_aggr": "", "dest_name_aggr": "",
			"source_port_num": 0.0, "dest_service_port": 0.0, "duration_mean": 0.0, "duration_max": 0.0, "latency": 0.0,
			"bytes_in": 0.0, "bytes_out": 0.0, "flowship.records": 1.0},
	}
	for i := range want {
		want[i]["flowship.bucket_start"], want[i]["flowship.bucket_end"] = 1749542700.0, 1749543000.0
	}
	checkOracle(t, "l7_default_knobs", want, func(d map[string]any) string {
		return fmt.Sprint(d["type"], d["method"], d["response_code"])
	})
}

// TestDNSGoldenOracle: testdata/dns_level1, DNS level 1 (spec §5:
// dnsLogsFileAggregationKind 1 masks the client name to "-" and the
// client IP to null) after the case's filters: line 4 (qname
// kubernetes.default.…) is excluded; line 5 (AAAA, NoError) matches
// neither "rcode NXDomain" nor "qtype A" and is not included.
//
//	line 1: client …-abcde 10.42.1.11, cart-api… A NoError, count 27,
//	        latency {27, mean 412000, max 1870000}, server coredns-…-9wq2k
//	line 2: client …-fghij 10.42.1.12, same question and answer, count 5,
//	        latency {5, mean 100000, max 300000}, server coredns-…-x2b4c
//	  → masked to the same key: count 27+5 = 32; latency_count 32;
//	    latency_mean weighted by latency_count:
//	    (27×412000 + 5×100000) / 32 = (11124000 + 500000) / 32 = 363250;
//	    latency_max = max(1870000, 300000) = 1870000; servers unioned in
//	    first-seen order [9wq2k, x2b4c]; 2 records.
//	line 3: api.example.co.uk A NXDomain, count 1, latency {1, 9e6, 9e6}:
//	        alone, client masked the same way.
func TestDNSGoldenOracle(t *testing.T) {
	common := oracleDoc{
		"start_time": "2025-06-10T08:00:03.118204551Z", "end_time": "2025-06-10T08:05:01.774310022Z",
		"type": "log", "client_name": "-", "client_ip": nil, "client_name_aggr": "storefront-7d9c5b6f4-*",
		"client_namespace": "shop", "qclass": "IN", "qtype": "A",
		"flowship.level": 1.0, "flowship.bucket_start": 1749542700.0, "flowship.bucket_end": 1749543000.0,
	}
	server := func(name, ip string) map[string]any {
		return map[string]any{"name": "coredns-5d78c9869d-" + name, "name_aggr": "coredns-5d78c9869d-*", "namespace": "kube-system",
			"ip": ip, "labels": map[string]any{"k8s-app": "kube-dns"}}
	}
	want := []oracleDoc{
		with(common, oracleDoc{"qname": "cart-api.shop.svc.cluster.local", "rcode": "NoError", "count": 32.0,
			"latency_count": 32.0, "latency_mean": 363250.0, "latency_max": 1870000.0,
			"latency":          map[string]any{"count": 32.0, "mean": 363250.0, "max": 1870000.0},
			"servers":          []any{server("9wq2k", "10.42.0.10"), server("x2b4c", "10.42.0.11")},
			"flowship.records": 2.0}),
		with(common, oracleDoc{"qname": "api.example.co.uk", "rcode": "NXDomain", "count": 1.0, "rrsets": nil,
			"latency_count": 1.0, "latency_mean": 9000000.0, "latency_max": 9000000.0,
			"latency":          map[string]any{"count": 1.0, "mean": 9000000.0, "max": 9000000.0},
			"servers":          []any{server("9wq2k", "10.42.0.10")},
			"flowship.records": 1.0}),
	}
	checkOracle(t, "dns_level1", want, func(d map[string]any) string { return fmt.Sprint(d["qname"]) })
}

// with returns a copy of base with extra's fields set.
func with(base, extra oracleDoc) oracleDoc {
	out := oracleDoc{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// checkOracle compares the documents of the case, as the aggregator makes
// them now and as stored in its want.jsonl, with the hand-computed ones,
// matched by key; nested fields are named "a.b".
func checkOracle(t *testing.T, name string, want []oracleDoc, key func(map[string]any) string) {
	t.Helper()
	dir := filepath.Join("testdata", name)
	c := loadCase(t, dir)
	lines := readLines(t, filepath.Join(dir, "input.jsonl"))
	var live [][]byte
	for _, r := range runLines(t, c.Aggregator, c.Kind, lines, len(lines)) {
		live = append(live, r.Value)
	}
	for source, docs := range map[string][][]byte{"aggregator output": live, "want.jsonl": readLines(t, filepath.Join(dir, "want.jsonl"))} {
		if len(docs) != len(want) {
			t.Errorf("%s: %d documents, the hand computation gives %d", source, len(docs), len(want))
			continue
		}
		byKey := map[string]map[string]any{}
		for _, b := range docs {
			var d map[string]any
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatalf("%s: %v", source, err)
			}
			byKey[key(d)] = d
		}
		for _, w := range want {
			k := key(map[string]any(w))
			d, ok := byKey[k]
			if !ok {
				t.Errorf("%s: no document with key %q", source, k)
				continue
			}
			for field, v := range w {
				if got := lookup(d, field); !reflect.DeepEqual(got, v) {
					t.Errorf("%s: document %q: %s = %#v, hand-computed %#v", source, k, field, got, v)
				}
			}
		}
	}
}

// lookup returns the value at a dotted path ("flowship.records").
func lookup(d map[string]any, path string) any {
	if v, ok := d[path]; ok {
		return v
	}
	for i := 0; i < len(path); i++ {
		if path[i] == '.' {
			if sub, ok := d[path[:i]].(map[string]any); ok {
				return lookup(sub, path[i+1:])
			}
		}
	}
	return nil
}
