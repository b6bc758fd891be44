package kafka

import (
	"fmt"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
)

// Header names carried by every record message. docs/kafka-contract.md
// lists them in a table that TestContractDocMatchesCode keeps equal to
// RecordHeaders.
const (
	HeaderKind   = "kind"   // flows | l7 | dns
	HeaderID     = "id"     // the document _id; consumers dedupe on it
	HeaderSchema = "schema" // schema.Version as a decimal string
	HeaderNode   = "node"   // the node that produced the record; may be empty
	HeaderTime   = "time"   // event time, RFC 3339 in UTC with nanoseconds
)

// RecordHeaders lists the record headers in the order the writer adds them.
var RecordHeaders = []string{HeaderKind, HeaderID, HeaderSchema, HeaderNode, HeaderTime}

// TimeLayout is the layout of the "time" header: RFC 3339 in UTC with
// up to nine fractional digits, e.g. 2025-03-01T10:15:00Z. A string is
// readable in kcat and parses in every language without knowing the unit.
const TimeLayout = time.RFC3339Nano

// Default topic names, one per kind, and the dead-letter topic.
const (
	DefaultTopicFlows      = "flowship.flows"
	DefaultTopicL7         = "flowship.l7"
	DefaultTopicDNS        = "flowship.dns"
	DefaultTopicDeadLetter = "flowship.dlq"
)

// Topics names the topic of each kind and the dead-letter topic.
type Topics struct {
	Flows      string `yaml:"flows"`       // default flowship.flows
	L7         string `yaml:"l7"`          // default flowship.l7
	DNS        string `yaml:"dns"`         // default flowship.dns
	DeadLetter string `yaml:"dead_letter"` // default flowship.dlq
}

// DefaultTopics returns the default topic names.
func DefaultTopics() Topics {
	return Topics{Flows: DefaultTopicFlows, L7: DefaultTopicL7, DNS: DefaultTopicDNS, DeadLetter: DefaultTopicDeadLetter}
}

// For returns the topic of kind k, or "" for an unknown kind.
func (t Topics) For(k pipeline.Kind) string {
	switch k {
	case pipeline.KindFlow:
		return t.Flows
	case pipeline.KindL7:
		return t.L7
	case pipeline.KindDNS:
		return t.DNS
	}
	return ""
}

// Kinds returns the kind topics in pipeline.Kinds order.
func (t Topics) Kinds() []string { return []string{t.Flows, t.L7, t.DNS} }

func (t Topics) validate(prefix string) error {
	seen := map[string]string{}
	for _, f := range []struct{ key, v string }{
		{"flows", t.Flows}, {"l7", t.L7}, {"dns", t.DNS}, {"dead_letter", t.DeadLetter},
	} {
		key := prefix + "topics." + f.key
		if err := validTopicName(f.v); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if other, dup := seen[f.v]; dup {
			return fmt.Errorf("%s: %q is already the topic of %s; every kind needs its own topic", key, f.v, other)
		}
		seen[f.v] = key
	}
	return nil
}

// validTopicName applies Kafka's topic name rules.
func validTopicName(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty")
	}
	if len(s) > 249 || s == "." || s == ".." {
		return fmt.Errorf("%q is not a valid Kafka topic name", s)
	}
	for _, c := range s {
		ok := c == '.' || c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return fmt.Errorf("%q is not a valid Kafka topic name: use only letters, digits, '.', '_' and '-'", s)
		}
	}
	return nil
}

var (
	kindBytes = map[pipeline.Kind][]byte{
		pipeline.KindFlow: []byte(pipeline.KindFlow),
		pipeline.KindL7:   []byte(pipeline.KindL7),
		pipeline.KindDNS:  []byte(pipeline.KindDNS),
	}
	schemaBytes = []byte(strconv.Itoa(schema.Version))
)

// ToMessage returns the message for r on topic. Key and Value alias r's
// slices; the header values share one new buffer. The shared kind and
// schema header values must not be modified.
func ToMessage(r pipeline.Record, topic string) kafkago.Message {
	buf := make([]byte, 0, len(r.ID)+len(r.Node)+len(TimeLayout)+8)
	buf = append(buf, r.ID...)
	id := buf[:len(buf):len(buf)]
	buf = append(buf, r.Node...)
	node := buf[len(id):len(buf):len(buf)]
	start := len(buf)
	buf = r.Time.UTC().AppendFormat(buf, TimeLayout)
	ts := buf[start:]
	kind, ok := kindBytes[r.Kind]
	if !ok {
		kind = []byte(r.Kind)
	}
	return kafkago.Message{
		Topic: topic,
		Key:   r.Key,
		Value: r.Value,
		Headers: []kafkago.Header{
			{Key: HeaderKind, Value: kind},
			{Key: HeaderID, Value: id},
			{Key: HeaderSchema, Value: schemaBytes},
			{Key: HeaderNode, Value: node},
			{Key: HeaderTime, Value: ts},
		},
	}
}

// MessageError says why a message does not follow the contract.
type MessageError struct {
	Topic     string
	Partition int
	Offset    int64
	Header    string // the offending header, "" when the problem is not a header
	Reason    string
}

// Error names the message by topic/partition@offset and the header.
func (e *MessageError) Error() string {
	where := fmt.Sprintf("kafka message %s/%d@%d", e.Topic, e.Partition, e.Offset)
	if e.Header != "" {
		return fmt.Sprintf("%s: header %q: %s", where, e.Header, e.Reason)
	}
	return where + ": " + e.Reason
}

// FromMessage converts a message that follows the contract back into a
// Record. Key and Value alias m's slices. Source is "topic/partition" and
// Offset the message offset. A message with a missing or malformed header,
// an unknown kind or a schema version newer than schema.Version returns a
// *MessageError.
func FromMessage(m kafkago.Message) (pipeline.Record, error) {
	bad := func(h, reason string) (pipeline.Record, error) {
		return pipeline.Record{}, &MessageError{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Header: h, Reason: reason}
	}
	var kind, id, ver, node, ts []byte
	var have [5]bool
	for _, h := range m.Headers {
		switch h.Key {
		case HeaderKind:
			kind, have[0] = h.Value, true
		case HeaderID:
			id, have[1] = h.Value, true
		case HeaderSchema:
			ver, have[2] = h.Value, true
		case HeaderNode:
			node, have[3] = h.Value, true
		case HeaderTime:
			ts, have[4] = h.Value, true
		}
	}
	for i, ok := range have {
		if !ok {
			return bad(RecordHeaders[i], "missing; the producer does not follow docs/kafka-contract.md")
		}
	}
	k := pipeline.Kind(kind)
	if !k.Valid() {
		return bad(HeaderKind, fmt.Sprintf("unknown kind %q, want flows, l7 or dns", kind))
	}
	if len(id) == 0 {
		return bad(HeaderID, "empty; every document needs its _id")
	}
	v, err := strconv.Atoi(string(ver))
	if err != nil || v < 1 {
		return bad(HeaderSchema, fmt.Sprintf("%q is not a schema version (a positive integer)", ver))
	}
	if v > schema.Version {
		return bad(HeaderSchema, fmt.Sprintf("version %d is newer than this flowship understands (%d); upgrade the consumer", v, schema.Version))
	}
	t, err := time.Parse(TimeLayout, string(ts))
	if err != nil {
		return bad(HeaderTime, fmt.Sprintf("%q is not an RFC 3339 time", ts))
	}
	return pipeline.Record{
		Kind:   k,
		Key:    m.Key,
		ID:     string(id),
		Time:   t,
		Value:  m.Value,
		Node:   string(node),
		Source: m.Topic + "/" + strconv.Itoa(m.Partition),
		Offset: m.Offset,
	}, nil
}
