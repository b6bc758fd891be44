package schema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

// TestParseFlowAnyKeyOrder checks that the expected-key fast path of
// ParseFlow gives the same result as the general path whatever the order,
// spacing or extra keys of the line.
func TestParseFlowAnyKeyOrder(t *testing.T) {
	line := sampleLine(t, pipeline.KindFlow, "spec_denied_level1_staged")
	var want Flow
	if err := ParseFlow(line, &want); err != nil {
		t.Fatal(err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		t.Fatal(err)
	}
	sorted, err := json.Marshal(obj) // keys in alphabetical order
	if err != nil {
		t.Fatal(err)
	}
	s := string(line)
	tests := []struct {
		name, line string
	}{
		{"Felix order", s},
		{"alphabetical order", string(sorted)},
		{"spaces around keys", strings.NewReplacer(`,"bytes_in":`, ` , "bytes_in" : `, `,"action":`, `,	"action":  `).Replace(s)},
		{"an extra key in the middle", strings.Replace(s, `,"proto":`, `,"transit_policies":["x"],"proto":`, 1)},
		{"an extra key first", `{"zz":1,` + s[1:]},
		{"escaped key", strings.Replace(s, `"bytes_in":`, `"bytes\u005fin":`, 1)},
		{"first key later", `{"end_time":` + strings.SplitN(s[len(`{"start_time":`):], `"end_time":`, 2)[1][:0] +
			strings.Split(strings.Split(s, `"end_time":`)[1], ",")[0] + `,"start_time":` +
			strings.Split(strings.Split(s, `"start_time":`)[1], ",")[0] + "," +
			strings.SplitN(s, ",", 3)[2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got Flow
			if err := ParseFlow([]byte(tc.line), &got); err != nil {
				t.Fatalf("ParseFlow: %v\n%s", err, tc.line)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("parsed differently:\n got %+v\nwant %+v", got, want)
			}
		})
	}
	// A missing optional key: everything else still parsed, key by key.
	missing := strings.Replace(s, `"nat_outgoing_ports":null,`, ``, 1)
	if missing == s {
		missing = strings.Replace(s, `"dest_domains":null,`, ``, 1)
	}
	var got Flow
	if err := ParseFlow([]byte(missing), &got); err != nil {
		t.Fatalf("ParseFlow without an optional key: %v", err)
	}
	if got.BytesIn != want.BytesIn || got.Action != want.Action || got.TCPUnrecoveredTO != want.TCPUnrecoveredTO {
		t.Errorf("without an optional key: %+v, want the other fields of %+v", got, want)
	}
}
