package kafka

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
)

// Headers a dead-letter message carries on top of RecordHeaders. The
// table in docs/kafka-contract.md is kept equal to DeadLetterHeaders.
const (
	HeaderDLQReason          = "dlq.reason"           // why the document was refused (Elasticsearch error type: reason)
	HeaderDLQStatus          = "dlq.status"           // HTTP status of the refusal; "0" when not from HTTP
	HeaderDLQIndex           = "dlq.index"            // the index the document was meant for; may be empty
	HeaderDLQSourceTopic     = "dlq.source_topic"     // topic the record was read from; may be empty
	HeaderDLQSourcePartition = "dlq.source_partition" // its partition; "-1" when unknown
	HeaderDLQSourceOffset    = "dlq.source_offset"    // its offset; "-1" when unknown
	HeaderDLQTime            = "dlq.time"             // when it was dead-lettered, RFC 3339 UTC
)

// DeadLetterHeaders lists the dead-letter headers in the order they are added.
var DeadLetterHeaders = []string{
	HeaderDLQReason, HeaderDLQStatus, HeaderDLQIndex,
	HeaderDLQSourceTopic, HeaderDLQSourcePartition, HeaderDLQSourceOffset, HeaderDLQTime,
}

// DeadLetter is a document the indexer could not store, with why and where.
type DeadLetter struct {
	// Record as read by FromMessage: Source "topic/partition", Offset the
	// offset. Key and Value are kept as they were.
	Record pipeline.Record
	Reason string    // e.g. "mapper_parsing_exception: failed to parse field [bytes_in]"
	Status int       // HTTP status of the refusal, 0 when not from HTTP
	Index  string    // target index
	Time   time.Time // when it was dead-lettered; zero means now
}

// Message returns d as a message for topic: the record's key, value and
// headers unchanged plus the dlq.* headers.
func (d DeadLetter) Message(topic string) kafkago.Message {
	m := ToMessage(d.Record, topic)
	srcTopic, srcPart := splitSource(d.Record.Source)
	off := d.Record.Offset
	if srcTopic == "" {
		off = -1
	}
	at := d.Time
	if at.IsZero() {
		at = time.Now()
	}
	m.Headers = append(m.Headers,
		kafkago.Header{Key: HeaderDLQReason, Value: []byte(d.Reason)},
		kafkago.Header{Key: HeaderDLQStatus, Value: strconv.AppendInt(nil, int64(d.Status), 10)},
		kafkago.Header{Key: HeaderDLQIndex, Value: []byte(d.Index)},
		kafkago.Header{Key: HeaderDLQSourceTopic, Value: []byte(srcTopic)},
		kafkago.Header{Key: HeaderDLQSourcePartition, Value: strconv.AppendInt(nil, int64(srcPart), 10)},
		kafkago.Header{Key: HeaderDLQSourceOffset, Value: strconv.AppendInt(nil, off, 10)},
		kafkago.Header{Key: HeaderDLQTime, Value: at.UTC().AppendFormat(nil, TimeLayout)},
	)
	return m
}

// splitSource splits FromMessage's "topic/partition"; anything else is
// no known source.
func splitSource(s string) (string, int) {
	i := strings.LastIndexByte(s, '/')
	if i <= 0 {
		return "", -1
	}
	p, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return "", -1
	}
	return s[:i], p
}

// ParseDeadLetter reads a dead-letter message back. The record headers
// are checked as by FromMessage; Record.Source and Offset are the original
// topic/partition and offset.
func ParseDeadLetter(m kafkago.Message) (DeadLetter, error) {
	rec, err := FromMessage(m)
	if err != nil {
		return DeadLetter{}, err
	}
	bad := func(h, reason string) (DeadLetter, error) {
		return DeadLetter{}, &MessageError{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Header: h, Reason: reason}
	}
	hv := map[string]string{}
	for _, h := range m.Headers {
		hv[h.Key] = string(h.Value)
	}
	for _, h := range DeadLetterHeaders {
		if _, ok := hv[h]; !ok {
			return bad(h, "missing; not a dead-letter message")
		}
	}
	var nums [3]int64
	for i, h := range []string{HeaderDLQStatus, HeaderDLQSourcePartition, HeaderDLQSourceOffset} {
		if nums[i], err = strconv.ParseInt(hv[h], 10, 64); err != nil {
			return bad(h, fmt.Sprintf("%q is not an integer", hv[h]))
		}
	}
	at, err := time.Parse(TimeLayout, hv[HeaderDLQTime])
	if err != nil {
		return bad(HeaderDLQTime, fmt.Sprintf("%q is not an RFC 3339 time", hv[HeaderDLQTime]))
	}
	rec.Source, rec.Offset = "", nums[2]
	if t := hv[HeaderDLQSourceTopic]; t != "" {
		rec.Source = t + "/" + strconv.FormatInt(nums[1], 10)
	}
	return DeadLetter{Record: rec, Reason: hv[HeaderDLQReason], Status: int(nums[0]), Index: hv[HeaderDLQIndex], Time: at}, nil
}

// DeadLetterWriter produces DeadLetters to the dead-letter topic
// (topics.dead_letter) for the indexer. It is a Writer underneath: same
// acks=all, retries without limit, ordering and dead-letter log for what
// Kafka can never accept.
type DeadLetterWriter struct {
	w *Writer
}

// NewDeadLetterWriter returns a DeadLetterWriter for cfg; run it with Run.
func NewDeadLetterWriter(cfg Config, tel pipeline.Telemetry) (*DeadLetterWriter, error) {
	w, err := newWriter(cfg, tel, "kafka_dead_letter_writer")
	if err != nil {
		return nil, err
	}
	return &DeadLetterWriter{w: w}, nil
}

// Run writes until ctx ends, like Writer.Run.
func (d *DeadLetterWriter) Run(ctx context.Context) error { return d.w.Run(ctx) }

// Close releases the dead-letter log; call it after Run returned.
func (d *DeadLetterWriter) Close() error { return d.w.Close() }

// Write produces dls and returns nil once Kafka acknowledged all of them
// (or put one it can never accept in the dead-letter log). It returns an
// error if ctx or Run ends first; the caller then still owns the
// documents and must not ack their source.
func (d *DeadLetterWriter) Write(ctx context.Context, dls []DeadLetter) error {
	if len(dls) == 0 {
		return nil
	}
	msgs := make([]kafkago.Message, len(dls))
	for i, dl := range dls {
		msgs[i] = dl.Message(d.w.cfg.Topics.DeadLetter)
	}
	res := make(chan error, 1)
	if err := d.w.enqueue(ctx, msgs, func(err error) { res <- err }); err != nil {
		return fmt.Errorf("kafka dead-letter topic: %w", err)
	}
	select {
	case err := <-res:
		if err != nil {
			return fmt.Errorf("kafka dead-letter topic: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kafka dead-letter topic: %w", ctx.Err())
	}
}
