package schema

import (
	"testing"

	"github.com/flowship/flowship/pipeline"
)

// Exported for the external tests (package schema_test).

// CalicoKeys are the keys Calico's documents carry, per kind.
var CalicoKeys = calicoKeys

// EncodedSample is one sample line of testdata with its encoder.
type EncodedSample struct {
	Kind pipeline.Kind
	Name string
	line []byte
}

// Encode encodes the sample line into its document.
func (s EncodedSample) Encode() ([]byte, error) { return encodeLine(s.Kind, s.Name, s.line) }

// EncodedSamples returns every sample line of testdata.
func EncodedSamples(t testing.TB) []EncodedSample {
	var out []EncodedSample
	for _, s := range samples(t) {
		out = append(out, EncodedSample{Kind: s.kind, Name: s.name, line: s.line})
	}
	return out
}
