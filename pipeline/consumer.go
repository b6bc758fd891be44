package pipeline

import "context"

// Batch carries records together with exactly one Ack.
type Batch struct {
	Records []Record
	Ack     Ack
}

// Consumer is the one interface between stages.
//
// Consume returning nil hands the batch and its Ack over to the consumer,
// which must call the Ack exactly once, now or later. Once it calls the
// Ack with nil it no longer uses the batch's records (their Key and Value
// bytes): the producer may reuse that memory. Consume returning an
// error keeps both with the caller, which still owns the Ack. Consume blocks
// when the consumer is full (backpressure) and returns ctx.Err() when ctx
// ends first.
type Consumer interface {
	Consume(ctx context.Context, b Batch) error
}

// ConsumerFunc adapts a function to Consumer.
type ConsumerFunc func(ctx context.Context, b Batch) error

// Consume calls f.
func (f ConsumerFunc) Consume(ctx context.Context, b Batch) error { return f(ctx, b) }
