package kafka

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"runtime"

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
	// plain keeps the buffers the uncompressed record sets are encoded
	// into, for the next request: grown by doubling to about a batch's
	// size (1 MiB) each time, they were over a quarter of the collector's
	// allocation on the 1M-line labels-and-policies backlog (issue 12).
	plain chan *bytes.Buffer
	// slots bounds the record sets compressed at once: kafka-go writes
	// the batches of all partitions at the same time (six on the
	// benchmark's topics), and each compression holds an encoder (its
	// match tables and 1 MiB window) and a plain buffer of up to a batch.
	// More compressions than cores at once buy no throughput, only memory
	// and cold caches. nil: unbounded.
	slots chan struct{}
}

// newCompressingTransport compresses with codec, at most GOMAXPROCS
// record sets at once.
func newCompressingTransport(rt kafkago.RoundTripper, codec compress.Codec) *compressingTransport {
	return &compressingTransport{rt: rt, codec: codec, plain: make(chan *bytes.Buffer, plainKept),
		slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// plainKept bounds the idle buffers kept (at most GOMAXPROCS are in use at
// once, one per compression slot); plainMax is the largest one kept.
const (
	plainKept = 8
	plainMax  = 8 << 20
)

func (c *compressingTransport) getPlain() *bytes.Buffer {
	select {
	case b := <-c.plain:
		return b
	default:
		return new(bytes.Buffer)
	}
}

func (c *compressingTransport) putPlain(b *bytes.Buffer) {
	if c.plain == nil || b.Cap() > plainMax {
		return
	}
	b.Reset()
	select {
	case c.plain <- b:
	default:
	}
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
			b, err := c.compress(ctx, p.RecordSet)
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

// compress compresses one record set once a slot is free.
func (c *compressingTransport) compress(ctx context.Context, rs protocol.RecordSet) ([]byte, error) {
	if c.slots != nil {
		select {
		case c.slots <- struct{}{}:
			defer func() { <-c.slots }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	plain := c.getPlain()
	defer c.putPlain(plain)
	return compressRecordSet(rs, c.codec, plain)
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
// 2) with kafka-go's encoder, into plain (scratch, reset first; nothing
// returned points into it), then compresses its records with codec and
// rewrites the header fields that change: attributes, length and CRC.
// It returns the record set as sent on the wire, size prefix included.
func compressRecordSet(rs protocol.RecordSet, codec compress.Codec, plain *bytes.Buffer) ([]byte, error) {
	rs.Version = 2
	rs.Attributes &^= 7
	plain.Reset()
	if _, err := rs.WriteTo(plain); err != nil {
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
