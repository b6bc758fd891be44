package pipeline

import "time"

// Kind names a log kind. Each kind has its own schema, topic, index and
// retention.
type Kind string

// The kinds flowship knows.
const (
	KindFlow Kind = "flows"
	KindL7   Kind = "l7"
	KindDNS  Kind = "dns"
)

// Kinds lists every kind in a stable order.
var Kinds = []Kind{KindFlow, KindL7, KindDNS}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindFlow, KindL7, KindDNS:
		return true
	}
	return false
}

// Record is one unit of data moving through the pipeline.
//
// Before aggregation a Record is a raw log line: Value holds the line
// without its newline and Source/Offset say where it came from. After
// aggregation it is a document: Key is the aggregation key (without the
// node), ID the stable Elasticsearch _id, Time the event time that picks
// the index, and Value the JSON document.
//
// Byte slices are owned by the Batch that carries the Record; a stage that
// keeps them past Consume must copy them.
type Record struct {
	Kind   Kind
	Key    []byte
	ID     string
	Time   time.Time
	Value  []byte
	Node   string
	Source string // file path (raw lines) or topic/partition (documents); for error messages
	Offset int64  // byte offset of the line in Source, or the Kafka offset
	Line   int64  // 1-based line number in Source when known, else 0
	// File identifies the file a raw line came from, across renames and
	// restarts: opaque, set by the file tailer (device, inode and a hash
	// of the file's first line), "" for other records. A stage that
	// remembers a place in its input compares File, never Source: a new
	// file at an old path is another file.
	File string
}
