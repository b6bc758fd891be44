package retention

// TEMPORARY: a stand-in for sinks/elasticsearch.Naming until that package
// lands; retention must use the sink's naming so both agree on index
// names. Delete this file and alias the real type when it exists.

import (
	"strings"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// Naming says how indices are named (stand-in for sinks/elasticsearch.Naming).
type Naming struct {
	Mode    string `yaml:"mode"`    // "flowship" | "calico"
	Prefix  string `yaml:"prefix"`  // flowship mode only
	Cluster string `yaml:"cluster"` // cluster name in every index
}

const dateLayout = "2006.01.02"

func (n Naming) base(kind pipeline.Kind) string {
	if n.Mode == "calico" {
		return "tigera_secure_ee_" + string(kind) + "." + n.Cluster + "."
	}
	return n.Prefix + "-" + string(kind) + "-" + n.Cluster + "-"
}

// Index is the index for kind on the UTC day of t.
func (n Naming) Index(kind pipeline.Kind, t time.Time) string {
	if n.Mode == "calico" {
		return n.base(kind) + "flowship-" + t.UTC().Format(dateLayout)
	}
	return n.base(kind) + t.UTC().Format(dateLayout)
}

// Pattern matches every index of kind.
func (n Naming) Pattern(kind pipeline.Kind) string { return n.base(kind) + "*" }

// ReadAlias is the alias every index of kind joins.
func (n Naming) ReadAlias(kind pipeline.Kind) string {
	if n.Mode == "calico" {
		return n.base(kind)
	}
	return strings.TrimSuffix(n.base(kind), "-")
}

// ParseDate returns the UTC day in index's name.
func (n Naming) ParseDate(index string) (time.Time, bool) {
	if len(index) < len(dateLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(dateLayout, index[len(index)-len(dateLayout):])
	return t, err == nil
}
