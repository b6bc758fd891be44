package aggregator

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// stateVersion is the version of the persisted per-kind state.
const stateVersion = 1

// position is where a line starts: its file's identity (Record.File, or
// Source for records without one) and byte Offset. Identity, not path: a
// new file at an old path (rotation while stopped) is never skipped as
// already delivered, and a renamed one still is.
type position struct {
	Source string `json:"source"`
	Offset int64  `json:"offset"`
}

// partID names one bucket part.
type partID struct {
	Bucket int64 // bucket start, Unix seconds
	Index  int
}

// openPart is a part that was open at the snapshot point.
type openPart struct {
	Bucket   int64 `json:"bucket"`
	Index    int   `json:"part"`
	Deadline int64 `json:"deadline"`
}

// Flush events that do not follow from the lines alone; they are replayed
// at their position after a restart.
const (
	evAll  = "all"  // every open part flushed (key limit, Flush)
	evIdle = "idle" // parts whose bucket ended at or before max(watermark, Until)
)

type event struct {
	Pos  position `json:"pos"` // after the line at Pos
	Type string   `json:"type"`
	// Until is the wall-clock bound of an idle flush (Unix seconds; see
	// stream.idle); 0 in states written before it existed.
	Until int64 `json:"until,omitempty"`
}

// kindState is the persisted state of one kind: the aggregator as it
// was after the last line of the acknowledged prefix (Pos), the flush
// events after that point, and the parts acknowledged since.
type kindState struct {
	Version   int        `json:"version"`
	Pos       *position  `json:"pos,omitempty"`
	Watermark *int64     `json:"watermark,omitempty"`
	Open      []openPart `json:"open,omitempty"`
	Flushed   [][2]int64 `json:"flushed,omitempty"` // [bucket, parts flushed]
	Events    []event    `json:"events,omitempty"`
	Acked     [][2]int64 `json:"acked,omitempty"` // [bucket, part]
}

// delta is a change to the replay-relevant state, applied to the
// snapshot once the input batch it belongs to is acknowledged.
type delta struct {
	seq  uint64
	op   uint8 // dOpen, dFlush, dEvent
	part openPart
	ev   event
}

const (
	dOpen uint8 = iota
	dFlush
	dEvent
)

// snapshot is the replay-relevant state as of the end of the
// acknowledged prefix of input batches.
type snapshot struct {
	seq     uint64
	pos     *position
	wm      int64
	hasWM   bool
	open    map[int64]openPart
	flushed map[int64]int
}

// replayState is what a restarted aggregator replays from: the kind's
// state (snapshot) as of the contiguous acknowledged prefix of its input
// batches, which it follows in arrival order like pipeline.Checkpointer,
// plus the flush events and acknowledged parts after that point. It
// encodes that state for the positions file (State, OnState). Its lock is
// taken after the stream's, never before.
type replayState struct {
	mu      sync.Mutex
	seq     uint64
	pending []*inBatch
	failed  bool
	snap    snapshot
	deltas  []delta
	acked   map[partID]struct{}
	hook    func(json.RawMessage)
	prune   func(bucket int64, parts int, wm int64) bool
	// replay holds restored flush events not yet replayed; they stay in
	// the state until then, so a second crash still finds them.
	replay []event
}

// nextEvent pops the first restored event if match accepts its position.
func (t *replayState) nextEvent(match func(position) bool) (event, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.replay) == 0 || !match(t.replay[0].Pos) {
		return event{}, false
	}
	ev := t.replay[0]
	t.replay = t.replay[1:]
	return ev, true
}

func newReplayState() *replayState {
	return &replayState{
		snap:  snapshot{open: map[int64]openPart{}, flushed: map[int64]int{}},
		acked: map[partID]struct{}{},
	}
}

// register starts tracking a new input batch whose Ack is ack.
func (t *replayState) register(ack func(error)) *inBatch {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	b := &inBatch{rs: t, ack: ack, seq: t.seq, refs: 1}
	if !t.failed {
		t.pending = append(t.pending, b)
	}
	return b
}

// record adds a delta for the latest registered batch.
func (t *replayState) record(d delta) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d.seq = t.seq
	if d.seq <= t.snap.seq {
		t.snap.apply(&d)
		return
	}
	if !t.failed {
		t.deltas = append(t.deltas, d)
	}
}

// push hands the current state to the hook: after a flush event, which
// the lines alone do not determine and which must reach the positions
// file even if no Ack follows before a crash.
func (t *replayState) push() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.hook != nil {
		t.hook(t.encodeLocked())
	}
}

func (s *snapshot) apply(d *delta) {
	switch d.op {
	case dOpen:
		s.open[d.part.Bucket] = d.part
	case dFlush:
		delete(s.open, d.part.Bucket)
		s.flushed[d.part.Bucket] = d.part.Index + 1
	}
}

func (t *replayState) markAcked(id partID) {
	t.mu.Lock()
	t.acked[id] = struct{}{}
	t.mu.Unlock()
}

// done resolves b: the snapshot advances over the contiguous prefix of
// finished batches, the state hook sees the new state, and only then is
// b's own Ack called, so a persisted offset never runs ahead of the
// persisted state.
func (t *replayState) done(b *inBatch, err error) {
	t.mu.Lock()
	b.finished = true
	if err != nil {
		t.failed = true
		t.pending, t.deltas = nil, nil
	}
	advanced := false
	for !t.failed && len(t.pending) > 0 && t.pending[0].finished {
		h := t.pending[0]
		t.pending[0] = nil
		t.pending = t.pending[1:]
		n := 0
		for n < len(t.deltas) && t.deltas[n].seq <= h.seq {
			t.snap.apply(&t.deltas[n])
			n++
		}
		t.deltas = t.deltas[n:]
		t.snap.seq = h.seq
		if h.hasWM {
			t.snap.wm, t.snap.hasWM = h.wm, true
		}
		if h.lastPos != nil {
			t.snap.pos = h.lastPos
		}
		advanced = true
	}
	if advanced && t.hook != nil {
		t.hook(t.encodeLocked())
	}
	t.mu.Unlock()
	b.ack(err)
}

// encodeLocked returns the state JSON; it prunes what no replay can need.
func (t *replayState) encodeLocked() json.RawMessage {
	s := &t.snap
	ks := kindState{Version: stateVersion, Pos: s.pos}
	if s.hasWM {
		wm := s.wm
		ks.Watermark = &wm
	}
	for b, n := range s.flushed {
		if t.prune != nil && s.hasWM && t.prune(b, n, s.wm) {
			delete(s.flushed, b)
			continue
		}
		ks.Flushed = append(ks.Flushed, [2]int64{b, int64(n)})
	}
	for _, p := range s.open {
		ks.Open = append(ks.Open, p)
	}
	for _, d := range t.deltas {
		if d.op == dEvent {
			ks.Events = append(ks.Events, d.ev)
		}
	}
	ks.Events = append(ks.Events, t.replay...)
	for id := range t.acked {
		// Lines after the snapshot point fall into parts numbered from
		// the bucket's flushed count as of that point.
		if id.Index < s.flushed[id.Bucket] || (t.prune != nil && s.hasWM && t.prune(id.Bucket, 0, s.wm)) {
			delete(t.acked, id)
			continue
		}
		ks.Acked = append(ks.Acked, [2]int64{id.Bucket, int64(id.Index)})
	}
	slices.SortFunc(ks.Flushed, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	slices.SortFunc(ks.Open, func(a, b openPart) int { return cmp.Compare(a.Bucket, b.Bucket) })
	slices.SortFunc(ks.Acked, func(a, b [2]int64) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	raw, _ := json.Marshal(ks) // plain data: cannot fail
	return raw
}

func (t *replayState) state() json.RawMessage {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.encodeLocked()
}

// decodeState parses a persisted state.
func decodeState(raw json.RawMessage) (*kindState, error) {
	var ks kindState
	if err := json.Unmarshal(raw, &ks); err != nil {
		return nil, fmt.Errorf("aggregator state: %w; delete the state from the positions file to start over (buckets open at the crash may then be counted twice)", err)
	}
	if ks.Version != stateVersion {
		return nil, fmt.Errorf("aggregator state: version %d, this build reads %d", ks.Version, stateVersion)
	}
	if err := ks.check(); err != nil {
		return nil, fmt.Errorf("aggregator state: %w; delete the state from the positions file to start over (buckets open at the crash may then be counted twice)", err)
	}
	return &ks, nil
}

// check refuses values no aggregator writes: they come from a damaged or
// hand-edited file, and replaying them would number parts (and so _ids)
// differently from the first run.
func (ks *kindState) check() error {
	if ks.Pos != nil && ks.Pos.Offset < 0 {
		return fmt.Errorf("pos.offset %d is negative", ks.Pos.Offset)
	}
	for _, o := range ks.Open {
		if o.Index < 0 {
			return fmt.Errorf("open part of bucket %d has index %d", o.Bucket, o.Index)
		}
	}
	for _, f := range ks.Flushed {
		if f[1] < 0 {
			return fmt.Errorf("flushed count of bucket %d is %d", f[0], f[1])
		}
	}
	for _, a := range ks.Acked {
		if a[1] < 0 {
			return fmt.Errorf("acknowledged part of bucket %d has index %d", a[0], a[1])
		}
	}
	for _, ev := range ks.Events {
		if ev.Type != evAll && ev.Type != evIdle {
			return fmt.Errorf("flush event type %q is not %q or %q", ev.Type, evAll, evIdle)
		}
		if ev.Pos.Offset < 0 {
			return fmt.Errorf("flush event at offset %d", ev.Pos.Offset)
		}
	}
	return nil
}

// inBatch is one input batch (its lines of one kind) being aggregated:
// its Ack fires once every part it contributed to is acknowledged and
// its own processing hold is released.
type inBatch struct {
	rs   *replayState
	ack  func(error)
	seq  uint64
	mu   sync.Mutex
	refs int
	errs []error

	// Set before the hold is released; read by the replayState.
	wm       int64
	hasWM    bool
	lastPos  *position
	finished bool
}

func (b *inBatch) ref() {
	b.mu.Lock()
	b.refs++
	b.mu.Unlock()
}

func (b *inBatch) release(err error) {
	b.mu.Lock()
	if err != nil {
		b.errs = append(b.errs, err)
	}
	b.refs--
	fire := b.refs == 0
	errs := b.errs
	b.mu.Unlock()
	if fire {
		b.rs.done(b, errors.Join(errs...))
	}
}
