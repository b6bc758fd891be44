package synth

import (
	"bytes"
	"testing"

	"github.com/flowship/flowship/schema"
)

// TestLinesParseWithSchema: every generated line is accepted by the
// schema parsers the collector uses, with the values it was written with.
func TestLinesParseWithSchema(t *testing.T) {
	cfg := DefaultConfig()
	cfg.FelixDefaultLevels = true
	g := New(cfg)
	for range 2 {
		w := g.Next()
		for _, l := range w.Flows {
			var f schema.Flow
			if err := schema.ParseFlow(bytes.TrimSuffix(l, []byte("\n")), &f); err != nil {
				t.Fatalf("ParseFlow(%s): %v", l, err)
			}
			if f.StartTime != w.Start.Unix() || f.NumFlows < 1 || f.PoliciesNull || f.SourceNameAggr == "" {
				t.Fatalf("ParseFlow(%s) = %+v", l, f)
			}
		}
		for _, l := range w.L7 {
			var x schema.L7
			if err := schema.ParseL7(bytes.TrimSuffix(l, []byte("\n")), &x); err != nil || x.Count < 1 || x.URL == "" {
				t.Fatalf("ParseL7(%s) = %+v, %v", l, x, err)
			}
		}
		for _, l := range w.DNS {
			var x schema.DNS
			if err := schema.ParseDNS(bytes.TrimSuffix(l, []byte("\n")), &x); err != nil || x.Count < 1 || x.QName == "" {
				t.Fatalf("ParseDNS(%s) = %+v, %v", l, x, err)
			}
			if x.StartTime < w.Start.UnixNano() || x.EndTime > w.End.UnixNano() {
				t.Fatalf("DNS times %d-%d outside the window %v-%v", x.StartTime, x.EndTime, w.Start, w.End)
			}
		}
	}
}
