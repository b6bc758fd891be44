package kafka

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	kafkalz4 "github.com/segmentio/kafka-go/compress/lz4"
	kafkasnappy "github.com/segmentio/kafka-go/compress/snappy"
	kafkazstd "github.com/segmentio/kafka-go/compress/zstd"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema/synth"
)

// flowValues returns n synthetic flow lines, close in size and
// repetition to flowship's flow documents.
func flowValues(tb testing.TB, n int) [][]byte {
	tb.Helper()
	cfg := synth.DefaultConfig()
	cfg.Kinds, cfg.MaxLines, cfg.Windows = []pipeline.Kind{pipeline.KindFlow}, n, 0
	var buf bytes.Buffer
	if _, err := synth.New(cfg).Stream(context.Background(), &buf); err != nil {
		tb.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
}

// messages returns values as flowship's flow messages.
func messages(values [][]byte) []kafkago.Message {
	msgs := make([]kafkago.Message, len(values))
	for i, v := range values {
		msgs[i] = ToMessage(pipeline.Record{Kind: pipeline.KindFlow, ID: fmt.Sprintf("id-%d", i), Node: "node-1",
			Time: time.Unix(1749542400, 0), Key: v[:64], Value: v}, DefaultTopicFlows)
	}
	return msgs
}

// recordSet encodes msgs as one produce record set the way the Writer
// does (compressRecordSet), compressed with codec.
func recordSet(tb testing.TB, msgs []kafkago.Message, recs []protocol.Record, codec compress.Codec, out *bytes.Buffer) {
	for i, m := range msgs {
		hs := recs[i].Headers[:0]
		for _, h := range m.Headers {
			hs = append(hs, protocol.Header(h))
		}
		recs[i] = protocol.Record{Time: m.Time, Key: protocol.NewBytes(m.Key), Value: protocol.NewBytes(m.Value), Headers: hs}
	}
	b, err := compressRecordSet(protocol.RecordSet{Records: protocol.NewRecordReader(recs...)}, codec, new(bytes.Buffer))
	if err != nil {
		tb.Fatal(err)
	}
	out.Reset()
	out.Write(b)
}

func TestZstdCodecRoundTrip(t *testing.T) {
	values := flowValues(t, 300)
	msgs, recs := messages(values), make([]protocol.Record, len(values))
	for name, lv := range codecLevels {
		t.Run(name, func(t *testing.T) {
			codec := newZstdCodec(lv.zstd)
			var buf bytes.Buffer
			for range 3 { // the second and third use pooled encoders
				recordSet(t, msgs, recs, codec, &buf)
				var rs protocol.RecordSet
				if _, err := rs.ReadFrom(bytes.NewReader(buf.Bytes())); err != nil {
					t.Fatalf("reading the record set back: %v", err)
				}
				i := 0
				for {
					r, err := rs.Records.ReadRecord()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("record %d: %v", i, err)
					}
					got, _ := io.ReadAll(r.Value)
					if !bytes.Equal(got, values[i]) {
						t.Fatalf("record %d: value differs after the round trip", i)
					}
					i++
				}
				if i != len(values) {
					t.Fatalf("%d records back, want %d", i, len(values))
				}
			}
		})
	}
}

func TestZstdCodecKeepsKafkaGoDecodable(t *testing.T) {
	// A frame without a content checksum must decode with kafka-go's own
	// reader, which the indexer (and every other consumer) uses.
	in := bytes.Repeat([]byte(`{"source_namespace":"shop","bytes_in":123}`), 500)
	var buf bytes.Buffer
	w := newZstdCodec(1).NewWriter(&buf)
	for i := 0; i < len(in); i += 7 {
		if _, err := w.Write(in[i:min(i+7, len(in))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := new(kafkazstd.Codec).NewReader(&buf)
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, in) {
		t.Fatalf("decoded %d bytes (%v), want the %d written", len(got), err, len(in))
	}
}

// BenchmarkZstdRecordSet compresses record sets of 500 flow documents as
// the Writer does (compressRecordSet): kafka-go's codec at its default
// level 3, against flowship's codec at each level.
func BenchmarkZstdRecordSet(b *testing.B) {
	values := flowValues(b, 500)
	msgs, recs := messages(values), make([]protocol.Record, len(values))
	var size int
	for _, v := range values {
		size += len(v)
	}
	codecs := []struct {
		name  string
		codec compress.Codec
	}{
		{"kafka-go/level3", &kafkazstd.Codec{Level: 3}},
		{"flowship/fastest", newZstdCodec(1)},
		{"flowship/default", newZstdCodec(3)},
		{"flowship/better", newZstdCodec(7)},
		{"kafka-go/lz4", new(kafkalz4.Codec)},
		{"kafka-go/snappy", new(kafkasnappy.Codec)},
	}
	for _, c := range codecs {
		b.Run(c.name, func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				recordSet(b, msgs, recs, c.codec, &buf)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(values)), "ns/doc")
			b.ReportMetric(float64(size)/float64(buf.Len()), "ratio")
		})
	}
}

// The Writer reuses the buffer a record set is encoded into before
// compression (compressingTransport.plain): what compressRecordSet
// returns must not point into it, or the next record set would overwrite
// a request still being sent.
func TestCompressRecordSetReusesPlainSafely(t *testing.T) {
	values := flowValues(t, 200)
	codec := newZstdCodec(3)
	a, b := messages(values[:100]), messages(values[100:])
	encode := func(msgs []kafkago.Message, plain *bytes.Buffer) []byte {
		recs := make([]protocol.Record, len(msgs))
		for i, m := range msgs {
			recs[i] = protocol.Record{Time: m.Time, Key: protocol.NewBytes(m.Key), Value: protocol.NewBytes(m.Value)}
		}
		b, err := compressRecordSet(protocol.RecordSet{Records: protocol.NewRecordReader(recs...)}, codec, plain)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var plain bytes.Buffer
	first := encode(a, &plain)
	want := bytes.Clone(first)
	second := encode(b, &plain)
	if !bytes.Equal(first, want) {
		t.Fatal("encoding the next record set into the same scratch buffer changed the first one")
	}
	if bytes.Equal(first, second) {
		t.Fatal("two different record sets encoded the same")
	}
	// The first record set still reads back as its own records.
	var rs protocol.RecordSet
	if _, err := rs.ReadFrom(bytes.NewReader(first)); err != nil {
		t.Fatalf("reading the first record set back: %v", err)
	}
	i := 0
	for ; ; i++ {
		r, err := rs.Records.ReadRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got, _ := io.ReadAll(r.Value); !bytes.Equal(got, values[i]) {
			t.Fatalf("record %d: value differs after the round trip", i)
		}
	}
	if i != 100 {
		t.Fatalf("%d records back, want 100", i)
	}
}

// The next batch gets the encoder closed last (its tables are the ones in
// the CPU cache), and no more than zstdKept idle encoders are kept, however
// many batches were compressed at once.
func TestZstdCodecReusesLastEncoder(t *testing.T) {
	codec := newZstdCodec(3)
	in := bytes.Repeat([]byte(`{"source_namespace":"shop","bytes_in":123}`), 200)
	open := func() *zstdWriter {
		w := codec.NewWriter(io.Discard).(*zstdWriter)
		if _, err := w.Write(in); err != nil {
			t.Fatal(err)
		}
		return w
	}
	ws := make([]*zstdWriter, zstdKept+3)
	for i := range ws {
		ws[i] = open()
	}
	for _, w := range ws {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(codec.free); n != zstdKept {
		t.Fatalf("%d idle encoders kept after %d concurrent batches, want %d", n, len(ws), zstdKept)
	}
	last := codec.free[zstdKept-1].enc
	a := open()
	if a.enc != last {
		t.Fatal("the next batch did not get the encoder closed last")
	}
	b := open()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if c := open(); c.enc != a.enc {
		t.Fatal("after two batches, the next did not get the encoder closed last")
	}
}
