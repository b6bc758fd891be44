package schema_test

import (
	"encoding/json"
	"testing"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
	"github.com/flowship/flowship/schema/schematest"
)

// The tests of the mappings' fields, in the external test package: they
// use schematest.Fields, which imports schema.

func TestMappingsAreStrictAndComplete(t *testing.T) {
	for _, kind := range pipeline.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			var m struct {
				Dynamic *bool `json:"dynamic"`
			}
			if err := json.Unmarshal(schema.Mapping(kind), &m); err != nil {
				t.Fatalf("mapping is not JSON: %v", err)
			}
			if m.Dynamic == nil || *m.Dynamic {
				t.Error(`mapping must set "dynamic": false (spec §6.3)`)
			}
			fields := schematest.Fields(kind)
			if msg, broken := fields[""]; broken {
				t.Fatal(msg)
			}
			for _, key := range schema.CalicoKeys[kind] {
				if _, ok := fields[key]; !ok {
					t.Errorf("Calico key %q is not mapped", key)
				}
			}
			for _, key := range []string{"host", "cluster", "flowship.schema", "flowship.id", "flowship.bucket_start", "flowship.records"} {
				if _, ok := fields[key]; !ok {
					t.Errorf("flowship key %q is not mapped", key)
				}
			}
		})
	}
	if schema.Mapping("nope") != nil || schema.Settings("nope") != nil || schematest.Fields("nope") != nil {
		t.Error("unknown kind must give nil")
	}
}

// Field types the spec (§2.1, §4.5, §5, §6.3) and the Kibana dashboards
// depend on, aliases resolved to their targets.
func TestMappingFieldTypes(t *testing.T) {
	cases := []struct {
		kind  pipeline.Kind
		field string
		want  string
	}{
		{"flows", "start_time", "date"}, {"flows", "end_time", "date"}, {"flows", "@timestamp", "date"},
		{"flows", "source_ip", "ip"}, {"flows", "dest_ip", "ip"}, {"flows", "original_source_ips", "ip"},
		{"flows", "source_port", "long"}, {"flows", "dest_service_port_num", "long"},
		{"flows", "nat_outgoing_ports", "integer"},
		{"flows", "source_labels", "nested"}, {"flows", "source_labels.labels", "keyword"},
		{"flows", "policies", "nested"}, {"flows", "policies.transit_policies", "keyword"},
		{"flows", "source_namespace", "keyword"}, {"flows", "dest_name_aggr", "keyword"},
		{"flows", "action", "keyword"}, {"flows", "reporter", "keyword"},
		{"flows", "dest_service_port", "keyword"}, {"flows", "bytes_in", "long"},
		{"flows", "policy.tier", "keyword"}, {"flows", "policy.name", "keyword"},
		{"flows", "policy.rule", "integer"}, {"flows", "policy.staged", "boolean"},
		{"flows", "flowship.bucket_start", "date"}, {"flows", "flowship.level", "integer"},
		// Aliases.
		{"flows", "source_port_num", "long"}, {"flows", "dest_port_num", "long"},
		{"flows", "dest_service_port_name", "keyword"}, {"flows", "source.ip", "ip"},
		{"flows", "source.bytes", "long"}, {"flows", "destination.port", "long"},
		{"flows", "network.protocol", "keyword"}, {"flows", "event.action", "keyword"},
		{"l7", "start_time", "date"}, {"l7", "@timestamp", "date"}, {"l7", "latency", "long"},
		{"l7", "response_code", "keyword"}, {"l7", "dest_service_port", "long"},
		{"l7", "dest_service_port_name", "keyword"}, {"l7", "url", "keyword"},
		{"l7", "source_name_aggr", "keyword"}, {"l7", "source_type", "keyword"},
		{"l7", "dest_service_port_num", "long"},
		{"dns", "start_time", "date"}, {"dns", "@timestamp", "date"}, {"dns", "qname", "keyword"},
		{"dns", "rcode", "keyword"}, {"dns", "client_ip", "ip"}, {"dns", "servers", "nested"},
		{"dns", "servers.ip", "ip"}, {"dns", "rrsets.rdata", "keyword"}, {"dns", "latency", "nested"},
		{"dns", "latency_mean", "long"}, {"dns", "dns.question.name", "keyword"},
		{"dns", "dns.response_code", "keyword"}, {"dns", "source.ip", "ip"},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind)+"/"+tc.field, func(t *testing.T) {
			if got := schematest.Fields(tc.kind)[tc.field]; got != tc.want {
				t.Errorf("type %q, want %q", got, tc.want)
			}
		})
	}
}

// Every value a document carries is indexed under a mapped field: with
// "dynamic": false an unmapped key would be silently unsearchable.
func TestEncodedDocumentsUseOnlyMappedFields(t *testing.T) {
	for _, s := range schema.EncodedSamples(t) {
		t.Run(string(s.Kind)+"/"+s.Name, func(t *testing.T) {
			doc, err := s.Encode()
			if err != nil {
				t.Fatal(err)
			}
			fields := schematest.Fields(s.Kind)
			var walk func(prefix string, v any)
			walk = func(prefix string, v any) {
				switch x := v.(type) {
				case map[string]any:
					for k, e := range x {
						path := prefix + k
						typ, ok := fields[path]
						if !ok {
							t.Errorf("document key %q is not mapped", path)
							continue
						}
						if typ == "object" || typ == "nested" {
							walk(path+".", e)
						}
					}
				case []any:
					for _, e := range x {
						walk(prefix, e)
					}
				}
			}
			var obj map[string]any
			if err := json.Unmarshal(doc, &obj); err != nil {
				t.Fatalf("decode %s: %v", doc, err)
			}
			walk("", obj)
		})
	}
}
