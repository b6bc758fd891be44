package kibana

import (
	"regexp"
	"slices"
	"testing"
)

// kqlTerm is one "field <op> value" clause of a KQL query.
type kqlTerm struct {
	Field, Op, Value string
}

// kqlClause matches field:value, field:"quoted value" and range clauses;
// a field name starts with a letter, '_' or '@' and may contain dots.
var kqlClause = regexp.MustCompile(`([A-Za-z_@][\w.@]*)\s*(:|<=|>=|<|>)\s*("(?:[^"\\]|\\.)*"|[^\s()]+)`)

// kqlTerms extracts the clauses of a KQL query. It understands what the
// shipped visualizations use (field:value terms joined by and/or/not and
// parentheses, wildcards, quoted values, ranges), not all of KQL; values
// in parenthesised lists (field:(a or b)) are not extracted.
func kqlTerms(q string) []kqlTerm {
	var out []kqlTerm
	for _, m := range kqlClause.FindAllStringSubmatch(q, -1) {
		out = append(out, kqlTerm{Field: m[1], Op: m[2], Value: m[3]})
	}
	return out
}

func TestKQLTerms(t *testing.T) {
	tests := []struct {
		name, query string
		want        []kqlTerm
	}{
		{"empty", "", nil},
		{"one term", "action:deny", []kqlTerm{{"action", ":", "deny"}}},
		{"spaces around colon", "action : deny", []kqlTerm{{"action", ":", "deny"}}},
		{"dotted field and wildcard", "policy.name:default.* and response_code:5*",
			[]kqlTerm{{"policy.name", ":", "default.*"}, {"response_code", ":", "5*"}}},
		{"quoted value with colon", `url:"a:b c" or not method:GET`,
			[]kqlTerm{{"url", ":", `"a:b c"`}, {"method", ":", "GET"}}},
		{"range and parentheses", "(dest_port >= 1024) and @timestamp<now",
			[]kqlTerm{{"dest_port", ">=", "1024"}, {"@timestamp", "<", "now"}}},
		{"free text has no field", "deny", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := kqlTerms(tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("kqlTerms(%q) = %q, want %q", tc.query, got, tc.want)
			}
		})
	}
}

func TestCheckField(t *testing.T) {
	fields := map[string]string{
		"action": "keyword", "bytes_in": "long", "start_time": "date", "dest_ip": "ip",
		"policies": "nested", "policies.all_policies": "keyword", "policy": "object", "policy.staged": "boolean",
	}
	tests := []struct {
		name, field, agg string
		ok               bool
	}{
		{"terms on keyword", "action", "terms", true},
		{"terms on ip", "dest_ip", "terms", true},
		{"terms on boolean in object", "policy.staged", "terms", true},
		{"sum on long", "bytes_in", "sum", true},
		{"sum on keyword", "action", "sum", false},
		{"date_histogram on date", "start_time", "date_histogram", true},
		{"date_histogram on long", "bytes_in", "date_histogram", false},
		{"unknown field", "no_such_field", "terms", false},
		{"inside nested", "policies.all_policies", "terms", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkField(fields, tc.field, aggFieldTypes[tc.agg])
			if (err == nil) != tc.ok {
				t.Errorf("checkField(%q, %s) = %v, want ok=%v", tc.field, tc.agg, err, tc.ok)
			}
		})
	}
}

func TestCheckQueryValue(t *testing.T) {
	tests := []struct {
		typ, value string
		ok         bool
	}{
		{"keyword", "5*", true},
		{"long", "443", true},
		{"long", "https", false},
		{"long", "*", true},
		{"boolean", "true", true},
		{"boolean", "yes", false},
		{"ip", "10.0.0.1", true},
		{"ip", `"10.0.0.0/8"`, true},
		{"ip", "pod-a", false},
		{"nested", "x", false},
	}
	for _, tc := range tests {
		t.Run(tc.typ+"="+tc.value, func(t *testing.T) {
			if err := checkQueryValue(tc.typ, tc.value); (err == nil) != tc.ok {
				t.Errorf("checkQueryValue(%s, %q) = %v, want ok=%v", tc.typ, tc.value, err, tc.ok)
			}
		})
	}
}
