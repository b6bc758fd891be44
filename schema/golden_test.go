package schema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testMeta is the Meta every golden document carries.
func testMeta(name string, start, end int64, level int) Meta {
	return Meta{Cluster: "prod", Host: "node-a", ID: "id-" + name, BucketStart: start, BucketEnd: end, Records: 1, Level: level}
}

// encodeLine parses one line of kind and encodes its level-0 document.
func encodeLine(kind pipeline.Kind, name string, line []byte) ([]byte, error) {
	switch kind {
	case pipeline.KindFlow:
		var f Flow
		if err := ParseFlow(line, &f); err != nil {
			return nil, err
		}
		d := FlowDocFromView(&f)
		d.Meta = testMeta(name, f.StartTime, f.EndTime, 0)
		return AppendFlowDoc(nil, &d), nil
	case pipeline.KindL7:
		var l L7
		if err := ParseL7(line, &l); err != nil {
			return nil, err
		}
		d := L7DocFromView(&l)
		d.Meta = testMeta(name, l.StartTime, l.EndTime, -1)
		return AppendL7Doc(nil, &d), nil
	default:
		var n DNS
		if err := ParseDNS(line, &n); err != nil {
			return nil, err
		}
		d := DNSDocFromView(&n)
		d.Meta = testMeta(name, n.StartTime/1e9, n.EndTime/1e9, -1)
		return AppendDNSDoc(nil, &d), nil
	}
}

var testdataDir = map[pipeline.Kind]string{
	pipeline.KindFlow: "testdata/flow",
	pipeline.KindL7:   "testdata/l7",
	pipeline.KindDNS:  "testdata/dns",
}

type sample struct {
	kind pipeline.Kind
	name string
	path string // input .jsonl
	line []byte
}

// samples returns every testdata input line.
func samples(t testing.TB) []sample {
	t.Helper()
	var out []sample
	for _, kind := range pipeline.Kinds {
		paths, err := filepath.Glob(filepath.Join(testdataDir[kind], "*.jsonl"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no samples for %s: %v", kind, err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(filepath.Base(p), ".jsonl")
			out = append(out, sample{kind: kind, name: name, path: p, line: bytes.TrimRight(b, "\n")})
		}
	}
	return out
}

func TestGoldenDocuments(t *testing.T) {
	for _, s := range samples(t) {
		t.Run(string(s.kind)+"/"+s.name, func(t *testing.T) {
			got, err := encodeLine(s.kind, s.name, s.line)
			if err != nil {
				t.Fatalf("parse %s: %v", s.path, err)
			}
			if !json.Valid(got) {
				t.Fatalf("encoded document is not valid JSON: %s", got)
			}
			golden := strings.TrimSuffix(s.path, ".jsonl") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./schema -run TestGoldenDocuments -update)", err)
			}
			if !bytes.Equal(got, bytes.TrimRight(want, "\n")) {
				t.Errorf("document differs from %s\n got: %s\nwant: %s", golden, got, want)
			}
		})
	}
}

// calicoKeys are the keys Calico writes per kind; the round trip must
// carry each one present in the input.
var calicoKeys = map[pipeline.Kind][]string{
	pipeline.KindFlow: flowKeys,
	pipeline.KindL7: {"start_time", "end_time", "duration_mean", "duration_max", "latency", "bytes_in",
		"bytes_out", "count", "src_name_aggr", "src_namespace", "src_type", "source_port_num",
		"dest_name_aggr", "dest_namespace", "dest_type", "dest_port_num", "dest_service_name",
		"dest_service_namespace", "dest_service_port_name", "dest_service_port", "method",
		"user_agent", "url", "response_code", "type", "protocol", "protocol_version",
		"collector_type", "collector_name", "tls_sni", "tls_version", "tls_cipher_suite"},
	pipeline.KindDNS: {"start_time", "end_time", "type", "count", "client_name", "client_name_aggr",
		"client_namespace", "client_ip", "client_labels", "servers", "qname", "qclass", "qtype",
		"rcode", "rrsets", "latency", "latency_count", "latency_mean", "latency_max"},
}

var flowKeys = []string{"start_time", "end_time", "source_ip", "source_name", "source_name_aggr",
	"source_namespace", "nat_outgoing_ports", "source_port", "source_type", "source_labels",
	"dest_ip", "dest_name", "dest_name_aggr", "dest_namespace", "dest_port", "dest_type",
	"dest_labels", "dest_service_namespace", "dest_service_name", "dest_service_port",
	"dest_service_port_num", "dest_domains", "proto", "action", "reporter", "policies",
	"bytes_in", "bytes_out", "num_flows", "num_flows_started", "num_flows_completed",
	"packets_in", "packets_out", "http_requests_allowed_in", "http_requests_denied_in",
	"process_name", "num_process_names", "process_id", "num_process_ids", "process_args",
	"num_process_args", "original_source_ips", "num_original_source_ips",
	"tcp_mean_send_congestion_window", "tcp_min_send_congestion_window", "tcp_mean_smooth_rtt",
	"tcp_max_smooth_rtt", "tcp_mean_min_rtt", "tcp_max_min_rtt", "tcp_mean_mss", "tcp_min_mss",
	"tcp_total_retransmissions", "tcp_lost_packets", "tcp_unrecovered_to"}

func decodeObject(t testing.TB, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

// normalize makes [] and null equal (spec §0) and drops members that are
// null or empty, so that {"a":[]} equals {} and equals null.
func normalize(v any) any {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if n := normalize(e); n != nil {
				out[k] = n
			}
		}
		return out
	}
	return v
}

// sameValue compares one key's input and document values. DNS times
// compare as instants: a numeric offset is written back as UTC.
func sameValue(kind pipeline.Kind, key string, in, out any) bool {
	if kind == pipeline.KindDNS && (key == "start_time" || key == "end_time") {
		a, errA := time.Parse(time.RFC3339Nano, in.(string))
		b, errB := time.Parse(time.RFC3339Nano, out.(string))
		return errA == nil && errB == nil && a.Equal(b)
	}
	return reflect.DeepEqual(normalize(in), normalize(out))
}

func TestRoundTripKeepsCalicoValues(t *testing.T) {
	for _, s := range samples(t) {
		t.Run(string(s.kind)+"/"+s.name, func(t *testing.T) {
			doc, err := encodeLine(s.kind, s.name, s.line)
			if err != nil {
				t.Fatal(err)
			}
			in, out := decodeObject(t, s.line), decodeObject(t, doc)
			checked := 0
			for _, key := range calicoKeys[s.kind] {
				inV, ok := in[key]
				if !ok {
					continue
				}
				checked++
				outV, ok := out[key]
				if !ok {
					t.Errorf("%s: document lacks %q", s.name, key)
					continue
				}
				if !sameValue(s.kind, key, inV, outV) {
					t.Errorf("%s: %q = %v in the line, %v in the document", s.name, key, inV, outV)
				}
			}
			if checked == 0 {
				t.Fatalf("%s: no Calico key checked", s.name)
			}
			if s.kind != pipeline.KindDNS && out["@timestamp"] != json.Number(in["end_time"].(json.Number).String()+"000") {
				t.Errorf("@timestamp = %v, want end_time*1000", out["@timestamp"])
			}
			fs, ok := out["flowship"].(map[string]any)
			if !ok || fs["schema"] != json.Number("1") || fs["id"] != "id-"+s.name || out["host"] != "node-a" || out["cluster"] != "prod" {
				t.Errorf("metadata wrong: host=%v cluster=%v flowship=%v", out["host"], out["cluster"], out["flowship"])
			}
		})
	}
}
