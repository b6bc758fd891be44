// Package pipelinetest holds recording fakes for unit tests of stages.
package pipelinetest

import (
	"context"
	"sync"

	"github.com/flowship/flowship/pipeline"
)

// Sink is a pipeline.Consumer that records every batch. By default it acks
// each batch at once with AckErr; with Hold set it keeps the acks for the
// test to release with AckAll.
type Sink struct {
	mu      sync.Mutex
	batches []pipeline.Batch
	held    []pipeline.Ack
	AckErr  error // error passed to acks (nil = success)
	Hold    bool  // keep acks instead of calling them
	Err     error // returned from Consume (the batch then stays with the caller)
}

// Consume records b.
func (s *Sink) Consume(_ context.Context, b pipeline.Batch) error {
	s.mu.Lock()
	if s.Err != nil {
		s.mu.Unlock()
		return s.Err
	}
	cp := make([]pipeline.Record, len(b.Records))
	for i, r := range b.Records {
		r.Key = append([]byte(nil), r.Key...)
		r.Value = append([]byte(nil), r.Value...)
		cp[i] = r
	}
	s.batches = append(s.batches, pipeline.Batch{Records: cp})
	hold, ackErr := s.Hold, s.AckErr
	if hold {
		s.held = append(s.held, b.Ack)
	}
	s.mu.Unlock()
	if !hold {
		b.Ack(ackErr)
	}
	return nil
}

// Records returns every record received so far, in order.
func (s *Sink) Records() []pipeline.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []pipeline.Record
	for _, b := range s.batches {
		out = append(out, b.Records...)
	}
	return out
}

// Batches returns how many batches were received.
func (s *Sink) Batches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.batches)
}

// AckAll releases every held ack with err and returns how many there were.
func (s *Sink) AckAll(err error) int {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for _, a := range held {
		a(err)
	}
	return len(held)
}
