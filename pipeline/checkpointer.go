package pipeline

import "sync"

// Checkpointer computes a contiguous watermark over positions that are
// tracked in order and resolved in any order: Highest is the position of
// the last entry before which every tracked entry has resolved
// successfully. A failed entry holds the watermark back forever, so the
// data after it is replayed on restart.
//
// Track must be called in position order. The zero value is not usable;
// use NewCheckpointer. Safe for concurrent use.
type Checkpointer[T any] struct {
	mu      sync.Mutex
	pending []*cpEntry[T] // in Track order; front is the oldest unresolved
	highest T
	has     bool
	failed  bool
}

type cpEntry[T any] struct {
	pos  T
	done bool
}

// NewCheckpointer returns an empty Checkpointer.
func NewCheckpointer[T any]() *Checkpointer[T] { return &Checkpointer[T]{} }

// Track registers pos, the position reached once this entry is resolved,
// and returns the function that resolves it. The returned function must be
// called exactly once; a non-nil error stops the watermark at the entry
// before it.
func (c *Checkpointer[T]) Track(pos T) func(error) {
	e := &cpEntry[T]{pos: pos}
	c.mu.Lock()
	c.pending = append(c.pending, e)
	c.mu.Unlock()
	var once sync.Once
	return func(err error) {
		once.Do(func() { c.resolve(e, err) })
	}
}

func (c *Checkpointer[T]) resolve(e *cpEntry[T], err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.failed = true
		return
	}
	e.done = true
	if c.failed {
		return
	}
	n := 0
	for n < len(c.pending) && c.pending[n].done {
		c.highest, c.has = c.pending[n].pos, true
		n++
	}
	if n > 0 {
		clear(c.pending[:n])
		c.pending = c.pending[n:]
	}
}

// Highest returns the watermark and whether any entry has resolved yet.
func (c *Checkpointer[T]) Highest() (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.highest, c.has
}

// Pending returns how many tracked entries are not yet behind the
// watermark.
func (c *Checkpointer[T]) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// Failed reports whether an entry resolved with an error; the watermark no
// longer moves after that.
func (c *Checkpointer[T]) Failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}
