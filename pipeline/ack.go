package pipeline

import (
	"errors"
	"sync"
	"sync/atomic"
)

// Ack reports the fate of a Batch: nil when every record in it has been
// durably delivered (or deliberately dropped, filtered or dead-lettered),
// an error when it was not and must be replayed. An Ack is called exactly
// once by the current owner of its Batch.
type Ack func(error)

// Nop is an Ack that does nothing; for sources that need no acknowledgement.
func Nop(error) {}

// Once wraps a so that only the first call reaches it. Later calls are
// ignored; it is a guard for code paths that might race, not a licence to
// call an Ack twice.
func Once(a Ack) Ack {
	var done atomic.Bool
	return func(err error) {
		if done.CompareAndSwap(false, true) {
			a(err)
		}
	}
}

// Merge returns one Ack that calls every one of acks exactly once with the
// same error. It is used when several input batches are combined into one
// output batch.
func Merge(acks ...Ack) Ack {
	switch len(acks) {
	case 0:
		return Nop
	case 1:
		return acks[0]
	}
	return func(err error) {
		for _, a := range acks {
			a(err)
		}
	}
}

// Split returns n Acks that together stand for parent: parent is called
// exactly once, after all n have been called, with nil if all reported nil
// and otherwise with the joined errors. With n == 0 parent is called at
// once with nil.
func Split(parent Ack, n int) []Ack {
	if n == 0 {
		parent(nil)
		return nil
	}
	s := &split{parent: parent, left: n}
	out := make([]Ack, n)
	for i := range out {
		out[i] = Once(s.done)
	}
	return out
}

type split struct {
	mu     sync.Mutex
	parent Ack
	left   int
	errs   []error
}

func (s *split) done(err error) {
	s.mu.Lock()
	if err != nil {
		s.errs = append(s.errs, err)
	}
	s.left--
	fire := s.left == 0
	errs := s.errs
	s.mu.Unlock()
	if fire {
		s.parent(errors.Join(errs...))
	}
}
