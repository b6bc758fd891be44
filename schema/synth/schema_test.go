package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

// The keys and JSON types of each kind, in the order Felix writes them,
// transcribed from spec §2.1, §4.5 and §5. Types: int, str, obj, arr, and
// a trailing ? for "may be null".
var (
	flowKeys = []string{
		"start_time:int", "end_time:int", "source_ip:str?", "source_name:str", "source_name_aggr:str",
		"source_namespace:str", "nat_outgoing_ports:[int]?", "source_port:int?", "source_type:str",
		"source_labels:labels?", "dest_ip:str?", "dest_name:str", "dest_name_aggr:str", "dest_namespace:str",
		"dest_port:int?", "dest_type:str", "dest_labels:labels?", "dest_service_namespace:str",
		"dest_service_name:str", "dest_service_port:str", "dest_service_port_num:int?", "dest_domains:[str]?",
		"proto:str", "action:str", "reporter:str", "policies:policies?", "bytes_in:int", "bytes_out:int",
		"num_flows:int", "num_flows_started:int", "num_flows_completed:int", "packets_in:int", "packets_out:int",
		"http_requests_allowed_in:int", "http_requests_denied_in:int", "process_name:str", "num_process_names:int",
		"process_id:str", "num_process_ids:int", "process_args:[str]", "num_process_args:int",
		"original_source_ips:[str]?", "num_original_source_ips:int",
		"tcp_mean_send_congestion_window:int", "tcp_min_send_congestion_window:int", "tcp_mean_smooth_rtt:int",
		"tcp_max_smooth_rtt:int", "tcp_mean_min_rtt:int", "tcp_max_min_rtt:int", "tcp_mean_mss:int",
		"tcp_min_mss:int", "tcp_total_retransmissions:int", "tcp_lost_packets:int", "tcp_unrecovered_to:int",
	}
	l7Keys = []string{
		"start_time:int", "end_time:int", "duration_mean:int", "duration_max:int", "latency:int", "bytes_in:int",
		"bytes_out:int", "count:int", "src_name_aggr:str", "src_namespace:str", "src_type:str",
		"source_port_num:int", "dest_name_aggr:str", "dest_namespace:str", "dest_type:str", "dest_port_num:int",
		"dest_service_name:str", "dest_service_namespace:str", "dest_service_port_name:str",
		"dest_service_port:int", "method:str", "user_agent:str", "url:str", "response_code:str", "type:str",
	}
	dnsKeys = []string{
		"start_time:time", "end_time:time", "type:str", "count:int", "client_name:str", "client_name_aggr:str",
		"client_namespace:str", "client_ip:str?", "client_labels:map", "servers:[obj]", "qname:str", "qclass:str",
		"qtype:str", "rcode:str", "rrsets:[obj]", "latency:obj", "latency_count:int", "latency_mean:int",
		"latency_max:int",
	}
	policyRe = regexp.MustCompile(`^\d+\|[^|]+\|[^|]+\|(allow|deny|pass)\|-?\d+$`)
	timeRe   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$`)
)

// checkLine asserts line is one JSON object with exactly keys, in order,
// each value of its type.
func checkLine(t *testing.T, line []byte, keys []string) map[string]json.RawMessage {
	t.Helper()
	if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("line is not one newline-terminated line: %q", line)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("line does not start an object: %v %v", tok, err)
	}
	got := map[string]json.RawMessage{}
	for i := 0; dec.More(); i++ {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if i >= len(keys) {
			t.Fatalf("extra key %q in %s", tok, line)
		}
		name, typ, _ := strings.Cut(keys[i], ":")
		if tok != name {
			t.Fatalf("key %d is %q, want %q", i, tok, name)
		}
		if err := checkType(v, typ); err != nil {
			t.Fatalf("%s = %s: %v", name, v, err)
		}
		got[name] = v
	}
	if len(got) != len(keys) {
		t.Fatalf("%d keys, want %d", len(got), len(keys))
	}
	return got
}

func checkType(v json.RawMessage, typ string) error {
	s := string(v)
	if s == "null" {
		if strings.HasSuffix(typ, "?") {
			return nil
		}
		return fmt.Errorf("null, want %s", typ)
	}
	typ = strings.TrimSuffix(typ, "?")
	var err error
	switch typ {
	case "int":
		var n int64
		err = json.Unmarshal(v, &n)
	case "str":
		var x string
		err = json.Unmarshal(v, &x)
	case "time":
		var x string
		if err = json.Unmarshal(v, &x); err == nil && !timeRe.MatchString(x) {
			err = fmt.Errorf("not RFC 3339 UTC")
		}
	case "[int]":
		var x []int64
		err = json.Unmarshal(v, &x)
	case "[str]":
		var x []string
		if err = json.Unmarshal(v, &x); err == nil && x == nil {
			err = fmt.Errorf("want an array")
		}
	case "[obj]":
		var x []map[string]json.RawMessage
		err = json.Unmarshal(v, &x)
	case "obj", "map":
		var x map[string]json.RawMessage
		err = json.Unmarshal(v, &x)
	case "labels":
		var x struct{ Labels []string }
		err = strictDecode(v, &x)
	case "policies":
		var x struct{ AllPolicies, EnforcedPolicies, PendingPolicies []string }
		if err = strictDecode(v, &x); err == nil {
			for _, p := range append(append(x.AllPolicies, x.EnforcedPolicies...), x.PendingPolicies...) {
				if !policyRe.MatchString(p) {
					err = fmt.Errorf("policy %q is not index|tier|name|action|rule", p)
				}
			}
		}
	default:
		err = fmt.Errorf("unknown type %s in the test table", typ)
	}
	return err
}

func strictDecode(v json.RawMessage, x any) error {
	// Field names differ by underscores only; go through a snake_case copy.
	s := strings.NewReplacer("all_policies", "allpolicies", "enforced_policies", "enforcedpolicies",
		"pending_policies", "pendingpolicies").Replace(string(v))
	d := json.NewDecoder(strings.NewReader(s))
	d.DisallowUnknownFields()
	return d.Decode(x)
}

func TestEveryLineIsSchemaExact(t *testing.T) {
	for _, level := range []int{0, 1, 2, 3} {
		t.Run(fmt.Sprintf("level %d", level), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Level, cfg.Seed = level, uint64(7+level)
			g := New(cfg)
			for range 3 {
				w := g.Next()
				if len(w.Flows) == 0 || len(w.L7) == 0 || len(w.DNS) == 0 {
					t.Fatalf("window %d has %d/%d/%d lines", w.Index, len(w.Flows), len(w.L7), len(w.DNS))
				}
				for _, l := range w.Flows {
					checkFlow(t, checkLine(t, l, flowKeys), level, w)
				}
				for _, l := range w.L7 {
					checkLine(t, l, l7Keys)
				}
				for _, l := range w.DNS {
					checkLine(t, l, dnsKeys)
				}
			}
		})
	}
}

// checkFlow asserts the masking of level (spec §3.2) and basic invariants.
func checkFlow(t *testing.T, f map[string]json.RawMessage, level int, w Window) {
	t.Helper()
	str := func(k string) string { var s string; _ = json.Unmarshal(f[k], &s); return s }
	num := func(k string) int64 { var n int64; _ = json.Unmarshal(f[k], &n); return n }
	null := func(k string) bool { return string(f[k]) == "null" }
	if num("start_time") != w.Start.Unix() || num("end_time") != w.End.Unix() {
		t.Fatalf("window times %d-%d, want %d-%d", num("start_time"), num("end_time"), w.Start.Unix(), w.End.Unix())
	}
	if (level >= 1) != null("source_port") {
		t.Fatalf("level %d: source_port = %s", level, f["source_port"])
	}
	if level >= 2 && (!null("source_ip") || !null("dest_ip") || str("source_name") != "-" || str("dest_name") != "-") {
		t.Fatalf("level %d: IPs or names not masked", level)
	}
	if (level >= 3) != null("dest_port") {
		t.Fatalf("level %d: dest_port = %s", level, f["dest_port"])
	}
	for _, side := range []string{"source", "dest"} {
		typ, aggr, name := str(side+"_type"), str(side+"_name_aggr"), str(side+"_name")
		switch typ {
		case "wep":
			if !strings.HasSuffix(aggr, "*") || (level < 2 && !strings.HasPrefix(name, strings.TrimSuffix(aggr, "*"))) {
				t.Fatalf("%s name %q does not fit name_aggr %q", side, name, aggr)
			}
		case "net":
			if aggr != "pub" && aggr != "pvt" || str(side+"_namespace") != "-" || name != "-" {
				t.Fatalf("%s net endpoint: name %q aggr %q", side, name, aggr)
			}
		default:
			t.Fatalf("%s_type = %q", side, typ)
		}
	}
	if a := str("action"); a != "allow" && a != "deny" {
		t.Fatalf("action %q", a)
	}
	if r := str("reporter"); r != "src" && r != "dst" {
		t.Fatalf("reporter %q", r)
	}
	if n := num("num_flows"); n < num("num_flows_started") || n < num("num_flows_completed") || n < 1 {
		t.Fatalf("num_flows %d below started %d or completed %d", n, num("num_flows_started"), num("num_flows_completed"))
	}
}

func TestLevelsMergeConnections(t *testing.T) {
	lines := map[int]int{}
	for _, level := range []int{0, 1, 2, 3} {
		cfg := DefaultConfig()
		cfg.Level = level
		lines[level] = len(New(cfg).Next(pipeline.KindFlow).Flows)
	}
	if lines[0] != DefaultConfig().FlowsPerWindow {
		t.Fatalf("level 0 wrote %d lines, want one per connection (%d)", lines[0], DefaultConfig().FlowsPerWindow)
	}
	if !(lines[0] > lines[1] && lines[1] > lines[2] && lines[2] >= lines[3]) {
		t.Fatalf("lines per level %v: want fewer lines at each higher level", lines)
	}
}

func TestFelixDefaultLevels(t *testing.T) {
	cfg := DefaultConfig()
	cfg.FelixDefaultLevels = true
	for _, l := range New(cfg).Next(pipeline.KindFlow).Flows {
		var f struct {
			Action     string
			SourceIP   *string `json:"source_ip"`
			SourcePort *int    `json:"source_port"`
		}
		if err := json.Unmarshal(l, &f); err != nil {
			t.Fatal(err)
		}
		if f.SourcePort != nil || (f.Action == "allow") != (f.SourceIP == nil) {
			t.Fatalf("action %s with source_ip %v, source_port %v: want allowed at level 2, denied at 1", f.Action, f.SourceIP, f.SourcePort)
		}
	}
}
