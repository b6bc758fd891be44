package pipeline

import "sync"

// Checkpointer computes a contiguous watermark over positions that are
// tracked in order and resolved in any order: Highest is the position of
// the last entry before which every tracked entry has resolved
// successfully. A failed entry holds the watermark back forever, so the
// data after it is replayed on restart.
//
// It keeps one entry per tracked, unresolved position before the first
// failure and none after it (they can never move the watermark), so its
// size is bounded by the entries in flight: for the file tailer,
// max_inflight_batches. Pending reports the size.
//
// Track must be called in position order. The zero value is not usable;
// use NewCheckpointer. Safe for concurrent use.
type Checkpointer[T any] struct {
	mu      sync.Mutex
	pending []*cpEntry[T] // in Track order; front is the oldest unresolved; ends at a failed one
	highest T
	has     bool
	failed  bool // an entry failed: it is the last in pending, nothing is tracked after it
}

type cpEntry[T any] struct {
	pos    T
	done   bool
	failed bool
}

// NewCheckpointer returns an empty Checkpointer.
func NewCheckpointer[T any]() *Checkpointer[T] { return &Checkpointer[T]{} }

// Track registers pos, the position reached once this entry is resolved,
// and returns the function that resolves it. The returned function must be
// called exactly once; a non-nil error stops the watermark at the entry
// before it. After a failure, Track keeps nothing.
func (c *Checkpointer[T]) Track(pos T) func(error) {
	e := &cpEntry[T]{pos: pos}
	c.mu.Lock()
	if !c.failed {
		c.pending = append(c.pending, e)
	}
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
		if !c.failed {
			// Entries after the first failure can never count: drop them.
			for i, p := range c.pending {
				if p == e {
					clear(c.pending[i+1:])
					c.pending = c.pending[:i+1]
					break
				}
			}
		}
		e.failed, c.failed = true, true
		return
	}
	e.done = true
	n := 0
	for n < len(c.pending) && c.pending[n].done && !c.pending[n].failed {
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

// Pending returns how many tracked entries are kept: not yet behind the
// watermark, up to and including a failed one.
func (c *Checkpointer[T]) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}
