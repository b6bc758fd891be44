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
	// The hash input is built in one buffer (on the stack for the usual
	// key lengths) and hashed with Sum256: one allocation, the string.
	var in [512]byte
	b := in[:0]
	b = appendField(b, cluster)
	b = appendField(b, node)
	b = appendField(b, string(kind))
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendVarint(b, bucketStart)
	b = binary.AppendVarint(b, int64(part))
	sum := sha256.Sum256(b)
	var out [32]byte
	hex.Encode(out[:], sum[:16])
	return string(out[:])
}

// appendField appends s with its length as a uvarint prefix.
func appendField(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
