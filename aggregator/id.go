package aggregator

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/flowship/flowship/pipeline"
)

// DocID returns the stable document _id (ARCHITECTURE §3.2): the first
// 128 bits of SHA-256 over (cluster, node, kind, key, bucket start, part),
// as 32 lowercase hex digits. Every component is length-prefixed, so no
// two different tuples hash the same input. part is 0 unless a bucket was
// flushed in several parts (early flush at the key limit, late lines).
func DocID(cluster, node string, kind pipeline.Kind, key []byte, bucketStart int64, part int) string {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	put := func(b []byte) {
		n := binary.PutUvarint(buf[:], uint64(len(b)))
		h.Write(buf[:n])
		h.Write(b)
	}
	put([]byte(cluster))
	put([]byte(node))
	put([]byte(kind))
	put(key)
	n := binary.PutVarint(buf[:], bucketStart)
	h.Write(buf[:n])
	n = binary.PutVarint(buf[:], int64(part))
	h.Write(buf[:n])
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}
