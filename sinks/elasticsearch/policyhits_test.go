package elasticsearch

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowship/flowship/schema"
)

// policyHitsDocs are flow documents for the comparison with
// schema.AppendWithPolicyHits, the reference implementation.
var policyHitsDocs = map[string]string{
	// A flow document as flowship collect writes it for `flowship gen`'s
	// default lines (labels and policy traces on).
	"collected": `{"start_time":1796288400,"end_time":1796288700,"source_ip":null,"source_name":"-","source_name_aggr":"profile-web-mwj46g25w-*","source_namespace":"data","nat_outgoing_ports":null,"source_port":null,"source_type":"wep","source_labels":{"labels":["app=profile-web","pod-template-hash=mwj46g25w","tier=frontend"]},"dest_ip":null,"dest_name":"-","dest_name_aggr":"report-sync-pllssn2z74-*","dest_namespace":"notifications","dest_port":8080,"dest_type":"wep","dest_labels":{"labels":["app=report-sync","pod-template-hash=pllssn2z74","tier=frontend"]},"dest_service_namespace":"-","dest_service_name":"-","dest_service_port":"-","dest_service_port_num":null,"dest_domains":null,"proto":"tcp","action":"allow","reporter":"src","policies":{"all_policies":["0|platform|platform.baseline-egress|pass|3","1|default|data/default.profile-web-egress|allow|1"],"enforced_policies":["0|platform|platform.baseline-egress|pass|3","1|default|data/default.profile-web-egress|allow|1"],"pending_policies":["0|platform|platform.baseline-egress|pass|3","1|default|data/default.profile-web-egress|allow|1"]},"bytes_in":38520,"bytes_out":14586,"num_flows":1,"num_flows_started":0,"num_flows_completed":1,"packets_in":120,"packets_out":102,"http_requests_allowed_in":0,"http_requests_denied_in":0,"process_name":"-","num_process_names":0,"process_id":"-","num_process_ids":0,"process_args":["-"],"num_process_args":0,"original_source_ips":null,"num_original_source_ips":0,"tcp_mean_send_congestion_window":0,"tcp_min_send_congestion_window":0,"tcp_mean_smooth_rtt":0,"tcp_max_smooth_rtt":0,"tcp_mean_min_rtt":0,"tcp_max_min_rtt":0,"tcp_mean_mss":0,"tcp_min_mss":0,"tcp_total_retransmissions":0,"tcp_lost_packets":0,"tcp_unrecovered_to":0,"policy":{"tier":"default","name":"data/default.profile-web-egress","action":"allow","rule":1,"index":1,"staged":false,"kind":"np","namespace":"data","end_of_tier":false},"host":"bench-node","cluster":"bench","@timestamp":1796288700000,"flowship":{"schema":1,"id":"1b0a333bacc90406f185b289d604ffa2","bucket_start":1796288700,"bucket_end":1796289000,"records":1,"level":2}}`,
	"three traces": `{"start_time":1,"policies":{"all_policies":["0|t|ns1/t.a|allow|0"],` +
		`"enforced_policies":["0|t|ns1/t.a|allow|0","1|__PROFILE__|__PROFILE__.kns.ns1|allow|0"],` +
		`"pending_policies":["0|t|ns1/staged:t.b|deny|2"],"transit_policies":["0|default|gnp:default.g|pass|-1"]},"bytes_in":3}`,
	"trailing newline and spaces": `{"policies":{"enforced_policies":["0|t|ns1/t.a|allow|0"]}}` + " \n",
	"bad entries are left out":    `{"policies":{"enforced_policies":["nonsense",7,"0|t|ns1/t.a|allow|0",null]}}`,
	"only bad entries":            `{"policies":{"enforced_policies":["nonsense",7]}}`,
	"no policies":                 `{"start_time":1,"bytes_in":3}`,
	"null policies":               `{"policies":null,"bytes_in":3}`,
	"policies not an object":      `{"policies":["0|t|ns1/t.a|allow|0"]}`,
	"already enriched":            `{"policies":{"enforced_policies":["0|t|ns1/t.a|allow|0"]},"policy_hits":[]}`,
	"hits key before policies":    `{"policy_hits":null,"policies":{"enforced_policies":["0|t|ns1/t.a|allow|0"]}}`,
	"duplicate keys: first wins": `{"policies":{"enforced_policies":["0|t|ns1/t.a|allow|0"],"enforced_policies":["0|t|ns2/t.b|deny|0"]},` +
		`"policies":{"enforced_policies":["0|t|ns3/t.c|deny|0"]}}`,
	"backslash elsewhere, hits after policies": `{"a":"x\\y","policies":{"enforced_policies":["0|t|ns1/t.a|allow|0"]},"policy_hits":1}`,
	"policy_hits as a value after policies":    `{"policies":{"enforced_policies":["0|t|ns1/t.a|allow|0"]},"note":"policy_hits"}`,
	"hits only nested":                         `{"policies":{"enforced_policies":["0|t|ns1/t.a|allow|0"]},"x":{"policy_hits":1}}`,
	"escaped strings":                          `{"policies":{"enforced_policies":["0|t|ns1/t.\u0061\"q|allow|0"]}}`,
	"list as a string":                         `{"policies":{"enforced_policies":"0|t|ns1/t.a|allow|0"}}`,
	"list as an object":                        `{"policies":{"enforced_policies":{"x":"0|t|ns1/t.a|allow|0"}}}`,
	"empty object":                             `{}`,
	"not an object":                            `[1,2]`,
	"empty":                                    ``,
}

func TestAppendWithPolicyHitsMatchesSchema(t *testing.T) {
	for name, doc := range policyHitsDocs {
		t.Run(name, func(t *testing.T) {
			want := schema.AppendWithPolicyHits([]byte("prefix"), []byte(doc))
			got := appendWithPolicyHits([]byte("prefix"), []byte(doc), nil)
			if string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			// With a cache: the first document fills it, the second reads it.
			var c hitsCache
			for i := range 2 {
				got := appendWithPolicyHits([]byte("prefix"), []byte(doc), &c)
				if string(got) != string(want) {
					t.Errorf("cached, document %d: got  %s\nwant %s", i+1, got, want)
				}
			}
		})
	}
}

// A hand-checked case: the hits of the three traces, in trace order, with
// the profile's namespace taken from its name.
func TestAppendWithPolicyHitsHandChecked(t *testing.T) {
	doc := `{"policies":{"enforced_policies":["0|t|ns1/t.a|allow|0","1|__PROFILE__|__PROFILE__.kns.ns1|allow|0"],` +
		`"transit_policies":["0|default|gnp:default.g|pass|-1"]}}`
	var got struct {
		Hits []struct {
			List, Tier, Kind, Namespace, Name, Action string
			Index, Rule                               int
		} `json:"policy_hits"`
	}
	out := appendWithPolicyHits(nil, []byte(doc), nil)
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if len(got.Hits) != 3 {
		t.Fatalf("%d hits, want 3: %s", len(got.Hits), out)
	}
	h0, h1, h2 := got.Hits[0], got.Hits[1], got.Hits[2]
	if h0.List != "enforced" || h0.Namespace != "ns1" || h0.Tier != "t" || h0.Action != "allow" || h0.Index != 0 || h0.Rule != 0 {
		t.Errorf("hit 0 = %+v", h0)
	}
	if h1.List != "enforced" || h1.Namespace != "ns1" || h1.Tier != "__PROFILE__" || h1.Index != 1 {
		t.Errorf("hit 1 (profile of ns1) = %+v", h1)
	}
	if h2.List != "transit" || h2.Namespace != "" || h2.Kind != "gnp" || h2.Rule != -1 || h2.Action != "pass" {
		t.Errorf("hit 2 (global policy, end of tier) = %+v", h2)
	}
}

// The cache holds a copy of the trace, not the document's memory, which
// the indexer reuses after the batch is acked.
func TestHitsCacheKeepsNoDocumentMemory(t *testing.T) {
	doc := []byte(policyHitsDocs["three traces"])
	want := string(appendWithPolicyHits(nil, doc, nil))
	var c hitsCache
	body := appendWithPolicyHits(nil, doc, &c)
	for _, b := range [][]byte{doc, body} { // both buffers are reused later
		for i := range b {
			b[i] = 'x'
		}
	}
	if len(c.m) != 1 {
		t.Fatalf("%d cached traces, want 1", len(c.m))
	}
	for k, v := range c.m {
		if strings.Contains(k, "xxxx") || strings.Contains(string(v), "xxxx") {
			t.Errorf("the cache shares a reused buffer: key %q, hits %q", k, v)
		}
	}
	if got := string(appendWithPolicyHits(nil, []byte(policyHitsDocs["three traces"]), &c)); got != want {
		t.Errorf("from the cache:\ngot  %s\nwant %s", got, want)
	}
}

// The indexer's hot path allocates nothing per document once its buffer
// has grown (and, with a cache, once the trace is in it).
func TestAppendWithPolicyHitsAllocatesNothing(t *testing.T) {
	doc := []byte(policyHitsDocs["collected"])
	buf := make([]byte, 0, 8192)
	if n := testing.AllocsPerRun(100, func() { buf = appendWithPolicyHits(buf[:0], doc, nil) }); n != 0 {
		t.Errorf("%v allocations per document, want 0", n)
	}
	var c hitsCache
	buf = appendWithPolicyHits(buf[:0], doc, &c) // fills the cache
	if n := testing.AllocsPerRun(100, func() { buf = appendWithPolicyHits(buf[:0], doc, &c) }); n != 0 {
		t.Errorf("%v allocations per document with a warm cache, want 0", n)
	}
}

func FuzzAppendWithPolicyHits(f *testing.F) {
	for _, doc := range policyHitsDocs {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !json.Valid(doc) {
			// The reference reads only JSON (documents come from flowship's
			// own encoder): here only "no panic" holds, and the bytes before
			// any policy_hits must come back unchanged.
			got := appendWithPolicyHits(nil, doc, nil)
			if len(got) < len(doc) && !strings.HasPrefix(string(doc), string(got)) {
				t.Errorf("invalid doc %q: got %q, shorter and not a prefix", doc, got)
			}
			return
		}
		want := schema.AppendWithPolicyHits(nil, doc)
		got := appendWithPolicyHits(nil, doc, nil)
		if string(got) != string(want) {
			t.Errorf("doc %s\ngot  %s\nwant %s", doc, got, want)
		}
		var c hitsCache
		for range 2 {
			if got := appendWithPolicyHits(nil, doc, &c); string(got) != string(want) {
				t.Errorf("cached: doc %s\ngot  %s\nwant %s", doc, got, want)
			}
		}
	})
}

func BenchmarkAppendWithPolicyHits(b *testing.B) {
	doc := []byte(policyHitsDocs["collected"])
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	var c hitsCache
	for b.Loop() {
		buf = appendWithPolicyHits(buf[:0], doc, &c)
	}
}

func BenchmarkSchemaAppendWithPolicyHits(b *testing.B) {
	doc := []byte(policyHitsDocs["collected"])
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		buf = schema.AppendWithPolicyHits(buf[:0], doc)
	}
}
