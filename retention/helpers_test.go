package retention

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking the change):\n got: %s\nwant: %s", p, got, want)
	}
}

// indentJSON pretty-prints b for goldens.
func indentJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// testSpecs are small stand-ins for the schema package's mappings: enough
// to exercise the template plumbing (a dated field, a normalizer that needs
// analysis settings), not the real field lists.
func testSpecs() map[pipeline.Kind]KindSpec {
	return map[pipeline.Kind]KindSpec{
		pipeline.KindFlow: {Mapping: json.RawMessage(`{"dynamic": false, "properties": {"start_time": {"type": "date", "format": "epoch_second"}, "source_ip": {"type": "ip", "null_value": "0.0.0.0"}}}`)},
		pipeline.KindL7:   {Mapping: json.RawMessage(`{"dynamic":false,"properties":{"start_time":{"type":"date","format":"epoch_second"},"duration_max":{"type":"long"}}}`)},
		pipeline.KindDNS: {
			Mapping:  json.RawMessage(`{"dynamic":false,"properties":{"start_time":{"type":"date"},"qname":{"type":"keyword","normalizer":"lowercase"}}}`),
			Settings: json.RawMessage(`{"analysis":{"normalizer":{"lowercase":{"type":"custom","filter":["lowercase"]}}}}`),
		},
	}
}

// testConfig is DefaultConfig with cluster "prod" and no replicas.
func testConfig() Config {
	c := DefaultConfig()
	c.Naming.Cluster = "prod"
	c.Replicas = 0
	return c
}
