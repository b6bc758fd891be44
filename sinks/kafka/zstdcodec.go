package kafka

import (
	"bufio"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
	kafkazstd "github.com/segmentio/kafka-go/compress/zstd"
)

// zstdCodec is kafka-go's zstd codec (compress.Codec) made cheaper for
// many small records:
//
//   - kafka-go writes a record set into the compressor piece by piece
//     (each varint, key, value, header name and header value is its own
//     Write, about 20 per record), and every zstd Encoder.Write pays for
//     bookkeeping and a checksum update; a 32 KiB bufio.Writer in front
//     turns them into a few large writes.
//   - The frame has no content checksum: the record batch that carries
//     it has its own CRC-32C over the compressed bytes, which the broker
//     and every consumer verify, so the frame's xxhash is redundant.
//     Every zstd decoder accepts frames without one.
//   - Encoders are kept in a small free list rather than a sync.Pool,
//     which drops them at every garbage collection (a collector on a
//     busy node collects several times a second). The list is a stack:
//     the next batch takes the encoder used last, whose match tables are
//     still in the CPU cache. kafka-go compresses the batches of several
//     partitions at once, so a queue cycled through all kept encoders and
//     every batch started cold (on the benchmark's output, zstd took 35%
//     more CPU cycling through eight encoders than with one). Their window is
//     1 MiB, the most a produce batch holds, instead of 8 MiB: each
//     kept encoder costs about 1.2 MiB, not 8.
//
// Reading is kafka-go's own zstd reader.
type zstdCodec struct {
	kafkazstd.Codec // NewReader
	level           zstd.EncoderLevel

	mu   sync.Mutex
	free []*zstdWriter // idle encoders, the last used on top
}

const (
	zstdWriteBuffer = 32 << 10
	// zstdWindow covers a whole produce batch (kafka.batch_bytes, 1 MiB
	// by default); larger batches still compress, matching less far back.
	zstdWindow = 1 << 20
	// zstdKept bounds the idle encoders kept. The Writer's transport
	// compresses at most GOMAXPROCS batches at once, so fewer are in use
	// on small nodes; a codec may also serve several transports.
	zstdKept = 8
)

func newZstdCodec(level int) *zstdCodec {
	return &zstdCodec{level: zstd.EncoderLevelFromZstd(level)}
}

// Code implements compress.Codec.
func (c *zstdCodec) Code() int8 { return c.Codec.Code() }

// Name implements compress.Codec.
func (c *zstdCodec) Name() string { return c.Codec.Name() }

// NewWriter implements compress.Codec: a pooled encoder behind a buffer.
func (c *zstdCodec) NewWriter(w io.Writer) io.WriteCloser {
	if z := c.pop(); z != nil {
		z.enc.Reset(w)
		z.buf.Reset(z.enc)
		return z
	}
	enc, err := zstd.NewWriter(w, zstd.WithEncoderLevel(c.level), zstd.WithEncoderConcurrency(1),
		zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false), zstd.WithWindowSize(zstdWindow))
	if err != nil { // only for invalid options, which are constants here
		return &zstdWriter{err: err}
	}
	return &zstdWriter{c: c, enc: enc, buf: bufio.NewWriterSize(enc, zstdWriteBuffer)}
}

type zstdWriter struct {
	c   *zstdCodec
	enc *zstd.Encoder
	buf *bufio.Writer
	err error
}

// Write implements io.Writer.
func (z *zstdWriter) Write(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	return z.buf.Write(p)
}

// Close flushes the buffer, ends the frame and keeps the encoder for
// the next batch, without the underlying writer.
func (z *zstdWriter) Close() error {
	if z.enc == nil {
		return z.err
	}
	err := z.buf.Flush()
	if cerr := z.enc.Close(); err == nil {
		err = cerr
	}
	z.enc.Reset(io.Discard)
	z.buf.Reset(io.Discard)
	if err != nil {
		z.enc, z.err = nil, err
		return err
	}
	z.c.push(z)
	return nil
}

// pop takes the encoder used last, nil when none is idle.
func (c *zstdCodec) pop() *zstdWriter {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.free)
	if n == 0 {
		return nil
	}
	z := c.free[n-1]
	c.free[n-1] = nil
	c.free = c.free[:n-1]
	return z
}

// push keeps an idle encoder on top, unless zstdKept are kept already.
func (c *zstdCodec) push(z *zstdWriter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.free) < zstdKept {
		c.free = append(c.free, z)
	}
}
