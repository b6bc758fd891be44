// Package schematest is test support for code that depends on the
// schema's Elasticsearch mappings: the mapping flattened to field types,
// so a query, test or dashboard can be checked against the field it hits.
package schematest

import (
	"encoding/json"
	"fmt"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
)

// Fields returns every field of kind's mapping (schema.Mapping) by dotted
// path ("policy.tier", "source_labels.labels") with its Elasticsearch
// type. Objects map to "object" or "nested"; aliases map to their
// target's type. nil for an unknown kind; a mapping that does not flatten
// is reported under the key "".
func Fields(kind pipeline.Kind) map[string]string {
	raw := schema.Mapping(kind)
	if raw == nil {
		return nil
	}
	fields, err := flattenMapping(raw)
	if err != nil {
		return map[string]string{"": err.Error()}
	}
	return fields
}

type mappingNode struct {
	Type       string                 `json:"type"`
	Path       string                 `json:"path"`
	Properties map[string]mappingNode `json:"properties"`
}

func flattenMapping(raw []byte) (map[string]string, error) {
	var root mappingNode
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("schema: embedded mapping: %w", err)
	}
	fields := map[string]string{}
	aliases := map[string]string{}
	var walk func(prefix string, props map[string]mappingNode)
	walk = func(prefix string, props map[string]mappingNode) {
		for name, n := range props {
			path := prefix + name
			switch {
			case n.Type == "alias":
				aliases[path] = n.Path
			case n.Properties != nil:
				fields[path] = "object"
				if n.Type != "" {
					fields[path] = n.Type
				}
				walk(path+".", n.Properties)
			default:
				fields[path] = n.Type
			}
		}
	}
	walk("", root.Properties)
	for path, target := range aliases {
		t, ok := fields[target]
		if !ok {
			return nil, fmt.Errorf("schema: embedded mapping: alias %s points to missing field %s", path, target)
		}
		fields[path] = t
	}
	return fields, nil
}
