package kafka

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/protocol"
	produceapi "github.com/segmentio/kafka-go/protocol/produce"
	"github.com/segmentio/kafka-go/protocol/rawproduce"
)

// compressingTransport compresses the record sets of produce requests
// with its own codec and sends them as pre-encoded (raw) record sets;
// every other request passes through unchanged. The kafka-go Writer in
// front of it is configured without compression, so kafka-go never
// consults its process-wide codec table when writing.
type compressingTransport struct {
	rt    kafkago.RoundTripper
	codec compress.Codec
}

// RoundTrip implements kafkago.RoundTripper.
func (c *compressingTransport) RoundTrip(ctx context.Context, addr net.Addr, req kafkago.Request) (kafkago.Response, error) {
	pr, ok := req.(*produceapi.Request)
	if !ok || c.codec == nil {
		return c.rt.RoundTrip(ctx, addr, req)
	}
	raw := &rawproduce.Request{TransactionalID: pr.TransactionalID, Acks: pr.Acks, Timeout: pr.Timeout,
		Topics: make([]rawproduce.RequestTopic, len(pr.Topics))}
	for i, t := range pr.Topics {
		rt := rawproduce.RequestTopic{Topic: t.Topic, Partitions: make([]rawproduce.RequestPartition, len(t.Partitions))}
		for j, p := range t.Partitions {
			b, err := compressRecordSet(p.RecordSet, c.codec)
			if err != nil {
				return nil, fmt.Errorf("compressing a record batch for %s/%d with %s: %w", t.Topic, p.Partition, c.codec.Name(), err)
			}
			rt.Partitions[j] = rawproduce.RequestPartition{Partition: p.Partition,
				RecordSet: protocol.RawRecordSet{Reader: bytes.NewReader(b)}}
		}
		raw.Topics[i] = rt
	}
	return c.rt.RoundTrip(ctx, addr, raw)
}

// Offsets in a record batch (magic 2), after the record set's 4-byte size
// prefix; see Kafka's DefaultRecordBatch.
const (
	batchLengthAt = 8  // int32: bytes after this field
	batchCRCAt    = 17 // uint32: CRC-32C of everything from attributes on
	batchAttrAt   = 21 // int16: codec in the low 3 bits
	batchHeader   = 61 // records start here
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// compressRecordSet encodes rs as one uncompressed record batch (magic
// 2) with kafka-go's encoder, then compresses its records with codec and
// rewrites the header fields that change: attributes, length and CRC.
// It returns the record set as sent on the wire, size prefix included.
func compressRecordSet(rs protocol.RecordSet, codec compress.Codec) ([]byte, error) {
	rs.Version = 2
	rs.Attributes &^= 7
	var plain bytes.Buffer
	if _, err := rs.WriteTo(&plain); err != nil {
		return nil, err
	}
	in := plain.Bytes()
	if len(in) < 4+batchHeader {
		return nil, fmt.Errorf("record set of %d bytes is shorter than a batch header", len(in))
	}
	batch := in[4:]
	out := bytes.NewBuffer(make([]byte, 0, len(in)/2+4+batchHeader))
	out.Write(in[:4+batchHeader])
	zw := codec.NewWriter(out)
	if _, err := zw.Write(batch[batchHeader:]); err != nil {
		zw.Close()
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	b := out.Bytes()
	nb := b[4:]
	binary.BigEndian.PutUint32(b[:4], uint32(len(nb)))
	binary.BigEndian.PutUint32(nb[batchLengthAt:], uint32(len(nb)-12))
	attr := binary.BigEndian.Uint16(nb[batchAttrAt:])
	binary.BigEndian.PutUint16(nb[batchAttrAt:], attr&^7|uint16(codec.Code())&7)
	binary.BigEndian.PutUint32(nb[batchCRCAt:], crc32.Checksum(nb[batchAttrAt:], castagnoli))
	return b, nil
}
