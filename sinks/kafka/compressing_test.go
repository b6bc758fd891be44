package kafka

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/protocol"
	produceapi "github.com/segmentio/kafka-go/protocol/produce"
	"github.com/segmentio/kafka-go/protocol/rawproduce"
)

// gateCodec is a codec whose writers count how many are open at once and
// hold their Close until the gate opens.
type gateCodec struct {
	compress.Codec
	gate      chan struct{}
	open, max atomic.Int64
}

type gateWriter struct {
	c *gateCodec
	w io.WriteCloser
}

func (c *gateCodec) NewWriter(w io.Writer) io.WriteCloser {
	n := c.open.Add(1)
	for m := c.max.Load(); n > m && !c.max.CompareAndSwap(m, n); m = c.max.Load() {
	}
	return gateWriter{c, c.Codec.NewWriter(w)}
}

func (g gateWriter) Write(p []byte) (int, error) { return g.w.Write(p) }
func (g gateWriter) Close() error {
	<-g.c.gate
	g.c.open.Add(-1)
	return g.w.Close()
}

// sink is the transport behind compressingTransport: it counts the
// record sets that reach it.
type sink struct{ sets atomic.Int64 }

func (s *sink) RoundTrip(_ context.Context, _ net.Addr, req kafkago.Request) (kafkago.Response, error) {
	r, ok := req.(*rawproduce.Request)
	if !ok {
		return nil, errors.New("not a raw produce request")
	}
	for _, t := range r.Topics {
		s.sets.Add(int64(len(t.Partitions)))
	}
	return &produceapi.Response{}, nil
}

func produceRequest(values [][]byte, partitions int) *produceapi.Request {
	msgs := messages(values)
	parts := make([]produceapi.RequestPartition, partitions)
	for p := range parts {
		recs := make([]protocol.Record, len(msgs))
		for i, m := range msgs {
			recs[i] = protocol.Record{Time: m.Time, Key: protocol.NewBytes(m.Key), Value: protocol.NewBytes(m.Value)}
		}
		parts[p] = produceapi.RequestPartition{Partition: int32(p), RecordSet: protocol.RecordSet{Records: protocol.NewRecordReader(recs...)}}
	}
	return &produceapi.Request{Acks: -1, Topics: []produceapi.RequestTopic{{Topic: "flows", Partitions: parts}}}
}

// kafka-go sends the batches of all partitions at once; the transport
// compresses no more of them at a time than it has slots (GOMAXPROCS in
// the Writer), and every one still goes out.
func TestCompressingTransportBoundsConcurrentCompressions(t *testing.T) {
	values := flowValues(t, 20)
	codec := &gateCodec{Codec: newZstdCodec(3), gate: make(chan struct{})}
	var s sink
	tr := newCompressingTransport(&s, codec)
	tr.slots = make(chan struct{}, 2)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			_, err := tr.RoundTrip(context.Background(), nil, produceRequest(values, 1))
			errs <- err
		})
	}
	time.Sleep(100 * time.Millisecond) // let all six reach the transport
	if n := codec.open.Load(); n != 2 {
		t.Errorf("%d compressions running while six requests wait, want 2 (the slots)", n)
	}
	close(codec.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if m := codec.max.Load(); m > 2 {
		t.Errorf("%d compressions ran at once, want at most 2", m)
	}
	if n := s.sets.Load(); n != 6 {
		t.Errorf("%d record sets sent, want 6", n)
	}
}

// A request waiting for a slot gives up when its context ends, without
// sending anything.
func TestCompressingTransportSlotWaitEndsWithContext(t *testing.T) {
	values := flowValues(t, 5)
	var s sink
	tr := newCompressingTransport(&s, newZstdCodec(3))
	tr.slots = make(chan struct{}, 1)
	tr.slots <- struct{}{} // the only slot is taken
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := tr.RoundTrip(ctx, nil, produceRequest(values, 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RoundTrip with no free slot = %v, want the context's deadline", err)
	}
	if n := s.sets.Load(); n != 0 {
		t.Fatalf("%d record sets sent after the context ended", n)
	}
	<-tr.slots
	if _, err := tr.RoundTrip(context.Background(), nil, produceRequest(values, 2)); err != nil || s.sets.Load() != 2 {
		t.Fatalf("with the slot free: %v, %d record sets sent", err, s.sets.Load())
	}
}
