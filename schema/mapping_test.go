package schema

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

// The DNS mapping's normalizers are defined by Settings, and no other
// kind needs any.
func TestSettingsDefineTheMappingsNormalizers(t *testing.T) {
	for _, kind := range pipeline.Kinds {
		var settings struct {
			Analysis struct {
				Normalizer map[string]json.RawMessage `json:"normalizer"`
			} `json:"analysis"`
		}
		if err := json.Unmarshal(Settings(kind), &settings); err != nil {
			t.Fatalf("%s settings: %v", kind, err)
		}
		mapping := string(Mapping(kind))
		var used []string
		for _, part := range strings.Split(mapping, `"normalizer": "`)[1:] {
			used = append(used, part[:strings.IndexByte(part, '"')])
		}
		for _, n := range used {
			if _, ok := settings.Analysis.Normalizer[n]; !ok {
				t.Errorf("%s mapping uses normalizer %q that Settings does not define", kind, n)
			}
		}
		if kind == pipeline.KindDNS && !slices.Contains(used, "flowship_lowercase") {
			t.Errorf("dns mapping does not lowercase qname")
		}
	}
}
