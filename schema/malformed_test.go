package schema

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func specFlowLine(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/flow/spec_allowed_level2.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimRight(b, "\n")
}

// replace returns line with the first old replaced by new, failing when
// old is absent so that a case cannot silently test the valid line.
func replace(t testing.TB, line []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(line, []byte(old)) {
		t.Fatalf("%q not in the line", old)
	}
	return bytes.Replace(line, []byte(old), []byte(new), 1)
}

func TestParseFlowRejectsMalformedLines(t *testing.T) {
	good := specFlowLine(t)
	huge := strings.Repeat("x", 4<<20)
	cases := []struct {
		name   string
		line   []byte
		syntax bool   // want *SyntaxError, else *FieldError
		key    string // the key the error must name
		reason string // substring of the reason
	}{
		{"empty line", nil, true, "", "empty line"},
		{"blank line", []byte("  \t "), true, "", "empty line"},
		{"array instead of object", []byte(`[1,2]`), true, "", "got array"},
		{"string instead of object", []byte(`"x"`), true, "", "got string"},
		{"truncated mid-number", good[:bytes.Index(good, []byte(`"bytes_in":48`))+13], true, "bytes_in", "truncated"},
		{"truncated in policies", good[:bytes.Index(good, []byte("platform.baseline"))], true, "policies.all_policies", "truncated"},
		{"missing closing brace", good[:len(good)-1], true, "tcp_unrecovered_to", "truncated"},
		{"trailing garbage", append(bytes.Clone(good), " x"...), true, "", "end of line"},
		{"two objects", append(bytes.Clone(good), good...), true, "", "end of line"},
		{"invalid UTF-8 in value", replace(t, good, "storefront-7d9c5b6f4-*", "store\xfffront"), true, "source_name_aggr", "invalid UTF-8"},
		{"invalid UTF-8 in unknown key", replace(t, good, `{"start_time"`, "{\"x\xc3\":1,\"start_time\""), true, "", "invalid UTF-8"},
		{"NUL byte in string", replace(t, good, `"proto":"tcp"`, "\"proto\":\"t\x00cp\""), true, "proto", "NUL byte"},
		{"NUL byte between members", replace(t, good, `,"proto"`, ",\x00\"proto\""), true, "dest_domains", "NUL byte"},
		{"bytes_in as string", replace(t, good, `"bytes_in":48213`, `"bytes_in":"12"`), false, "bytes_in", "want integer, got string"},
		{"bytes_in fractional", replace(t, good, `"bytes_in":48213`, `"bytes_in":1.5`), false, "bytes_in", "fractional"},
		{"bytes_in overflows", replace(t, good, `"bytes_in":48213`, `"bytes_in":99999999999999999999`), false, "bytes_in", "out of range"},
		{"dest_port as bool", replace(t, good, `"dest_port":8080`, `"dest_port":true`), false, "dest_port", "got boolean"},
		{"action as number", replace(t, good, `"action":"allow"`, `"action":1`), false, "action", "want string, got number"},
		{"action null", replace(t, good, `"action":"allow"`, `"action":null`), false, "action", "got null"},
		{"start_time as string", replace(t, good, `"start_time":1749542400`, `"start_time":"1749542400"`), false, "start_time", "got string"},
		{"start_time null", replace(t, good, `"start_time":1749542400`, `"start_time":null`), false, "start_time", "must not be null"},
		{"end_time negative", replace(t, good, `"end_time":1749542697`, `"end_time":-5`), false, "end_time", "outside"},
		{"end_time in milliseconds far future", replace(t, good, `"end_time":1749542697`, `"end_time":1749542697000000`), false, "end_time", "outside"},
		{"start_time missing", replace(t, good, `"start_time":1749542400,`, ``), false, "start_time", "missing"},
		{"reporter missing", replace(t, good, `"reporter":"src",`, ``), false, "reporter", "missing"},
		{"source_ip not an IP", replace(t, good, `"source_ip":null`, `"source_ip":"10.0.0"`), false, "source_ip", "not an IP"},
		{"labels not a list", replace(t, good, `{"labels":["app=storefront","pod-template-hash=7d9c5b6f4"]}`, `{"labels":"app=x"}`), false, "source_labels.labels", "want array"},
		{"labels of numbers", replace(t, good, `"app=storefront"`, `7`), false, "source_labels.labels", "array of strings"},
		{"policies as array", replace(t, good, `"policies":{`, `"policies":[{`), false, "policies", "want object"},
		{"nat port as string", replace(t, good, `"nat_outgoing_ports":null`, `"nat_outgoing_ports":["1"]`), false, "nat_outgoing_ports", "array of integers"},
		{"bad escape", replace(t, good, `"proto":"tcp"`, `"proto":"t\qcp"`), true, "proto", "invalid escape"},
		{"bad unicode escape", replace(t, good, `"proto":"tcp"`, `"proto":"t\u12"`), true, "proto", `\u`},
		{"leading zero", replace(t, good, `"bytes_in":48213`, `"bytes_in":048213`), true, "bytes_in", "unexpected '4'"},
		{"single quotes", replace(t, good, `"proto":"tcp"`, `"proto":'tcp'`), true, "proto", "JSON value"},
		{"missing colon", replace(t, good, `"proto":"tcp"`, `"proto" "tcp"`), true, "proto", "':'"},
		{"trailing comma", replace(t, good, `,"tcp_unrecovered_to":0}`, `,"tcp_unrecovered_to":0,}`), true, "tcp_unrecovered_to", "key string"},
		{"multi-megabyte unterminated string", []byte(`{"start_time":1,"process_name":"` + huge), true, "process_name", "truncated"},
		{"multi-megabyte nesting", []byte(`{"x":` + strings.Repeat("[", 2<<20)), true, "x", "nested deeper"},
		{"multi-megabyte wrong type", replace(t, good, `"bytes_in":48213`, `"bytes_in":"`+huge+`"`), false, "bytes_in", "got string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f Flow
			err := ParseFlow(tc.line, &f)
			if err == nil {
				t.Fatal("no error")
			}
			var key, reason string
			var se *SyntaxError
			var fe *FieldError
			switch {
			case errors.As(err, &se) && tc.syntax:
				key, reason = se.Key, se.Reason
			case errors.As(err, &fe) && !tc.syntax:
				key, reason = fe.Key, fe.Reason
			default:
				t.Fatalf("error %T %v, want syntax=%v", err, err, tc.syntax)
			}
			if key != tc.key || !strings.Contains(reason, tc.reason) {
				t.Errorf("error %q: key %q reason %q, want key %q reason containing %q", err, key, reason, tc.key, tc.reason)
			}
			if tc.key != "" && !strings.Contains(err.Error(), `"`+tc.key+`"`) {
				t.Errorf("message %q does not name the key %q", err, tc.key)
			}
		})
	}
}

func TestParseFlowAcceptsLenientForms(t *testing.T) {
	good := specFlowLine(t)
	cases := []struct {
		name  string
		line  []byte
		check func(t *testing.T, f *Flow)
	}{
		{"null bytes_in reads 0", replace(t, good, `"bytes_in":48213`, `"bytes_in":null`),
			func(t *testing.T, f *Flow) { want(t, f.BytesIn, int64(0)) }},
		{"null string reads empty", replace(t, good, `"source_name":"-"`, `"source_name":null`),
			func(t *testing.T, f *Flow) { want(t, f.SourceName, "") }},
		{"unknown keys of every type", replace(t, good, `{"start_time"`, `{"new":{"a":[1,2.5e3,true,false,null,"s\u00e9"]},"n":-0.1E-2,"start_time"`),
			func(t *testing.T, f *Flow) { want(t, f.StartTime, int64(1749542400)) }},
		{"whitespace everywhere", []byte(" \t" + strings.ReplaceAll(strings.ReplaceAll(string(good), ":", " : "), ",", " ,\n ") + "\r\n"),
			func(t *testing.T, f *Flow) { want(t, f.Policies.Enforced.Len(), 2) }},
		{"duplicate key: last wins", replace(t, good, `"bytes_in":48213`, `"bytes_in":1,"bytes_in":2`),
			func(t *testing.T, f *Flow) { want(t, f.BytesIn, int64(2)) }},
		{"escaped key", replace(t, good, `"bytes_in":48213`, `"bytes\u005fin":7`),
			func(t *testing.T, f *Flow) { want(t, f.BytesIn, int64(7)) }},
		{"escaped value", replace(t, good, `"proto":"tcp"`, `"proto":"t\"c\\p\u00e9\ud83d\ude00\ud800"`),
			func(t *testing.T, f *Flow) { want(t, f.Proto, "t\"c\\pé😀\ufffd") }},
		{"empty labels object", replace(t, good, `{"labels":["app=storefront","pod-template-hash=7d9c5b6f4"]}`, `{}`),
			func(t *testing.T, f *Flow) { want(t, f.SourceLabelsNull, false); want(t, f.SourceLabels.Len(), 0) }},
		{"policies with transit and unknown arrays", replace(t, good, `"policies":{`, `"policies":{"transit_policies":["0|t|t.p|allow|1"],"future":[1],`),
			func(t *testing.T, f *Flow) { want(t, f.Policies.Transit.Len(), 1) }},
		{"negative source port kept", replace(t, good, `"source_port":null`, `"source_port":-1`),
			func(t *testing.T, f *Flow) { want(t, f.SourcePort, OptInt{V: -1, Valid: true}) }},
		{"int64 extremes", replace(t, good, `"bytes_in":48213,"bytes_out":12877`, `"bytes_in":9223372036854775807,"bytes_out":-9223372036854775808`),
			func(t *testing.T, f *Flow) { want(t, f.BytesIn, int64(1<<63-1)); want(t, f.BytesOut, int64(-1<<63)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f Flow
			if err := ParseFlow(tc.line, &f); err != nil {
				t.Fatal(err)
			}
			tc.check(t, &f)
		})
	}
}

func want[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseL7AndDNSErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, line, key, reason string
		dns                     bool
	}{
		{"l7 count as string", `{"start_time":1,"end_time":2,"count":"3"}`, "count", "want integer", false},
		{"l7 missing end_time", `{"start_time":1,"type":"-"}`, "end_time", "missing", false},
		{"l7 type as object", `{"start_time":1,"end_time":2,"type":{}}`, "type", "got object", false},
		{"dns epoch start_time", `{"start_time":1749542400,"end_time":"2025-06-10T08:00:00Z","type":"log"}`, "start_time", "got number", true},
		{"dns bad date", `{"start_time":"2025-02-30T08:00:00Z","end_time":"2025-06-10T08:00:00Z","type":"log"}`, "start_time", "not an RFC 3339", true},
		{"dns no zone", `{"start_time":"2025-06-10T08:00:00","end_time":"2025-06-10T08:00:00Z","type":"log"}`, "start_time", "not an RFC 3339", true},
		{"dns missing type", `{"start_time":"2025-06-10T08:00:00Z","end_time":"2025-06-10T08:00:00Z"}`, "type", "missing", true},
		{"dns servers of strings", `{"start_time":"2025-06-10T08:00:00Z","end_time":"2025-06-10T08:00:00Z","type":"log","servers":["x"]}`, "servers", "array of objects", true},
		{"dns labels as list", `{"start_time":"2025-06-10T08:00:00Z","end_time":"2025-06-10T08:00:00Z","type":"log","client_labels":[]}`, "client_labels", "want object", true},
		{"dns latency count", `{"start_time":"2025-06-10T08:00:00Z","end_time":"2025-06-10T08:00:00Z","type":"log","latency":{"count":"1"}}`, "latency.count", "want integer", true},
		{"dns client_ip", `{"start_time":"2025-06-10T08:00:00Z","end_time":"2025-06-10T08:00:00Z","type":"log","client_ip":"-"}`, "client_ip", "not an IP", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.dns {
				var d DNS
				err = ParseDNS([]byte(tc.line), &d)
			} else {
				var l L7
				err = ParseL7([]byte(tc.line), &l)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v, want *FieldError", err, err)
			}
			if fe.Key != tc.key || !strings.Contains(fe.Reason, tc.reason) {
				t.Errorf("got key %q reason %q, want key %q reason containing %q", fe.Key, fe.Reason, tc.key, tc.reason)
			}
		})
	}
}

func TestParseDNSTimes(t *testing.T) {
	cases := []struct {
		in   string
		want int64
	}{
		{"2025-06-10T08:00:03.118204551Z", 1749542403118204551},
		{"2025-06-10T08:00:03Z", 1749542403000000000},
		{"2025-06-10T08:00:03.5Z", 1749542403500000000},
		{"2025-06-10T10:00:03.5+02:00", 1749542403500000000},
		{"2025-06-10t06:30:03.5-01:30", 1749542403500000000},
		{"2024-02-29T00:00:00Z", 1709164800000000000},
		{"1970-01-01T00:00:00Z", 0},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			line := `{"start_time":"` + tc.in + `","end_time":"` + tc.in + `","type":"log"}`
			var d DNS
			if err := ParseDNS([]byte(line), &d); err != nil {
				t.Fatal(err)
			}
			want(t, d.StartTime, tc.want)
		})
	}
}
