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
//
// Reading is kafka-go's own zstd reader.
type zstdCodec struct {
	kafkazstd.Codec // NewReader
	level           zstd.EncoderLevel
	pool            sync.Pool // *zstdWriter
}

const zstdWriteBuffer = 32 << 10

func newZstdCodec(level int) *zstdCodec {
	return &zstdCodec{level: zstd.EncoderLevelFromZstd(level)}
}

// Code implements compress.Codec.
func (c *zstdCodec) Code() int8 { return c.Codec.Code() }

// Name implements compress.Codec.
func (c *zstdCodec) Name() string { return c.Codec.Name() }

// NewWriter implements compress.Codec: a pooled encoder behind a buffer.
func (c *zstdCodec) NewWriter(w io.Writer) io.WriteCloser {
	z, _ := c.pool.Get().(*zstdWriter)
	if z == nil {
		enc, err := zstd.NewWriter(w, zstd.WithEncoderLevel(c.level), zstd.WithEncoderConcurrency(1),
			zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false))
		if err != nil { // only for invalid options, which are constants here
			return &zstdWriter{err: err}
		}
		z = &zstdWriter{c: c, enc: enc, buf: bufio.NewWriterSize(enc, zstdWriteBuffer)}
	} else {
		z.enc.Reset(w)
		z.buf.Reset(z.enc)
	}
	return z
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

// Close flushes the buffer, ends the frame and returns the encoder to
// the pool, without the underlying writer.
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
	if err == nil {
		z.c.pool.Put(z)
	} else {
		z.enc, z.err = nil, err
	}
	return err
}
