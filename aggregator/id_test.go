package aggregator

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

// referenceDocID is ARCHITECTURE §3.2 written out plainly: SHA-256 over
// the length-prefixed components, bucket start and part as varints, the
// first 16 bytes in hex.
func referenceDocID(cluster, node string, kind pipeline.Kind, key []byte, start int64, part int) string {
	h := sha256.New()
	for _, c := range [][]byte{[]byte(cluster), []byte(node), []byte(kind), key} {
		h.Write(binary.AppendUvarint(nil, uint64(len(c))))
		h.Write(c)
	}
	h.Write(binary.AppendVarint(nil, start))
	h.Write(binary.AppendVarint(nil, int64(part)))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func TestDocIDIsTheSpecifiedHash(t *testing.T) {
	tests := []struct {
		name          string
		cluster, node string
		kind          pipeline.Kind
		key           string
		start         int64
		part          int
	}{
		{"flow", "prod", "node-1", pipeline.KindFlow, "shop|cart-*|tcp|443", 1749542400, 0},
		{"second part", "prod", "node-1", pipeline.KindFlow, "shop|cart-*|tcp|443", 1749542400, 3},
		{"negative start", "c", "n", pipeline.KindDNS, "q", -300, 0},
		{"empty everything", "", "", pipeline.KindL7, "", 0, 0},
		{"key longer than the stack buffer", "prod", "node-1", pipeline.KindL7, strings.Repeat("k", 2000), 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DocID(tc.cluster, tc.node, tc.kind, []byte(tc.key), tc.start, tc.part)
			want := referenceDocID(tc.cluster, tc.node, tc.kind, []byte(tc.key), tc.start, tc.part)
			if got != want {
				t.Errorf("DocID = %s, want %s", got, want)
			}
			if len(got) != 32 {
				t.Errorf("DocID has %d hex digits, want 32", len(got))
			}
		})
	}
	key := []byte("shop|cart-*|tcp|443")
	if n := testing.AllocsPerRun(100, func() { _ = DocID("prod", "node-1", pipeline.KindFlow, key, 1, 0) }); n > 1 {
		t.Errorf("DocID allocates %v times, want 1 (the string)", n)
	}
}
