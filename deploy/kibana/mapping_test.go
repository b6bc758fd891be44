package kibana

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema/schematest"
)

// mappingFields returns kind's Elasticsearch mapping flattened to field
// path → type, from package schema: the mapping the indexer installs, so a
// mapping change that breaks a dashboard fails these tests.
func mappingFields(t testing.TB, kind pipeline.Kind) map[string]string {
	t.Helper()
	f := schematest.Fields(kind)
	if len(f) == 0 {
		t.Fatalf("schematest.Fields(%s) is empty", kind)
	}
	if msg, broken := f[""]; broken {
		t.Fatalf("schematest.Fields(%s): %s", kind, msg)
	}
	return f
}

// Type classes: which Elasticsearch field types an operation accepts.
var (
	numericTypes = []string{"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
	termsTypes   = append([]string{"keyword", "ip", "boolean"}, numericTypes[:4]...)
	dateTypes    = []string{"date", "date_nanos"}
)

// aggFieldTypes says which field types each aggregation used by the
// visualizations accepts; "" means the aggregation takes no field.
var aggFieldTypes = map[string][]string{
	"count":          nil,
	"sum":            numericTypes,
	"avg":            numericTypes,
	"max":            numericTypes,
	"min":            numericTypes,
	"terms":          termsTypes,
	"date_histogram": dateTypes,
}

// checkField reports why field cannot be used by an operation accepting
// types in fields (the kind's mapping), or nil.
func checkField(fields map[string]string, field string, accept []string) error {
	typ, ok := fields[field]
	if !ok {
		return fmt.Errorf("field %q is not in the mapping", field)
	}
	parts := strings.Split(field, ".")
	for i := 1; i < len(parts); i++ {
		if p := strings.Join(parts[:i], "."); fields[p] == "nested" {
			return fmt.Errorf("field %q is inside nested %q; Kibana's aggregations cannot reach it", field, p)
		}
	}
	if !slices.Contains(accept, typ) {
		return fmt.Errorf("field %q has type %s, the operation needs one of %v", field, typ, accept)
	}
	return nil
}

// checkQueryValue reports whether a KQL value can match a field of type
// typ: numbers for numeric fields, true/false for booleans, an address or
// CIDR for ip; keywords take anything (wildcards included).
func checkQueryValue(typ, value string) error {
	v := strings.Trim(value, `"`)
	switch {
	case v == "*" || typ == "keyword":
		return nil
	case slices.Contains(numericTypes, typ):
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("value %q is not a number for a %s field", value, typ)
		}
	case typ == "boolean":
		if v != "true" && v != "false" {
			return fmt.Errorf("value %q is not true/false for a boolean field", value)
		}
	case typ == "ip":
		if net.ParseIP(v) == nil {
			if _, _, err := net.ParseCIDR(v); err != nil {
				return fmt.Errorf("value %q is not an IP or CIDR for an ip field", value)
			}
		}
	case slices.Contains(dateTypes, typ):
		return nil // date math and formats: left to Elasticsearch
	default:
		return fmt.Errorf("KQL cannot query a %s field", typ)
	}
	return nil
}
