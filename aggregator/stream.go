package aggregator

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
)

// horizon is how long after a bucket's close its flushed-part count is
// kept; late lines for older buckets get part numbers derived from the
// watermark instead.
const horizon = 24 * 60 * 60

// errShutdown fails the input lines of buckets still open at shutdown.
var errShutdown = errors.New("aggregator stopped before the bucket was flushed; its lines are read again after restart")

// stream aggregates one kind. All fields are guarded by mu except tr,
// which has its own lock.
type stream struct {
	mu   sync.Mutex
	kind pipeline.Kind
	a    *Aggregator
	proc kindProc
	rs   *replayState

	window, lateness int64 // seconds
	sanity           eventWindow

	wm       int64 // newest event time seen (Unix seconds)
	hasWM    bool
	open     map[int64]*part // by bucket start
	flushed  map[int64]int   // parts flushed per bucket
	openKeys int
	lastPos  position // the last line seen
	hasPos   bool
	lastIn   time.Time // wall clock of the last input, for idle flush
	stopped  bool

	skip           *position       // after Restore: lines up to here are acknowledged
	replayLeft     int             // after Restore: flush events not yet replayed
	ackedAtRestore map[partID]bool // after Restore: parts acknowledged before the crash

	out     []outBatch   // flushed, not yet taken for sending
	sending int          // consume calls handing batches on now (without mu)
	docSize atomic.Int64 // bytes to reserve per document (key included) when encoding; read and set without mu
	bufs    sync.Pool    // *[]byte: encoding buffers of acknowledged batches; without mu
	stats   Stats
	bad     badLog

	idx         []int      // lines: indexes of the batch's records of this kind
	preps       []prepared // lines: what prepare returned, per proc slot
	parsedAhead int64      // lines parsed on the parse-ahead goroutine (tests read it)
}

func newStream(a *Aggregator, kind pipeline.Kind, proc kindProc) *stream {
	s := &stream{
		kind: kind, a: a, proc: proc, rs: newReplayState(),
		window:   int64(a.cfg.Window / time.Second),
		lateness: int64(a.cfg.AllowedLateness / time.Second),
		sanity:   eventWindow{maxFuture: a.cfg.MaxFuture, maxAge: a.cfg.MaxAge.Of(kind), now: a.cfg.Now},
		open:     map[int64]*part{},
		flushed:  map[int64]int{},
	}
	s.docSize.Store(1024)
	s.rs.prune = s.prunable
	return s
}

// consume aggregates the records of s's kind from recs; ack stands for
// all of them. The flushed documents are handed to the next stage after
// s.mu is released: no lock is held across next.Consume, so the gauges,
// Stats and the idle tick answer while the next stage blocks.
func (s *stream) consume(ctx context.Context, recs []pipeline.Record, ack pipeline.Ack) {
	s.mu.Lock()
	b := s.rs.register(ack)
	before := s.stats
	s.lines(recs, b)
	b.wm, b.hasWM = s.wm, s.hasWM
	if s.hasPos {
		pos := s.lastPos
		b.lastPos = &pos
	}
	out := s.takeOut()
	s.sending++
	s.a.count(s.kind, before, s.stats)
	s.mu.Unlock()

	s.send(ctx, out)

	s.mu.Lock()
	s.sending--
	// Quiet input is measured from here: while send waited for the next
	// stage (backpressure) no input could arrive, and an idle flush then
	// would split the bucket the following lines still belong to (idle
	// skips while sending > 0).
	s.lastIn = time.Now()
	s.mu.Unlock()
	b.release(nil)
}

// Parse-ahead (Config.ParseAhead): while the consuming goroutine merges
// the lines of one chunk, a second goroutine parses, filters and keys the
// next ones, at most parseBuffers chunks ahead, into the kindProc's slots.
// Merging stays in line order on the consuming goroutine, so the output
// is the same as parsing inline.
const (
	parseChunk   = 128 // lines handed over at a time
	parseBuffers = 4   // chunks prepared ahead of the merge at most
)

// prepared is what kindProc.prepare returned for the line in a slot.
type prepared struct {
	t   int64
	res lineResult
	err error
}

// lines aggregates the lines of s's kind in recs, in order. Called with
// s.mu held.
func (s *stream) lines(recs []pipeline.Record, b *inBatch) {
	idx := s.idx[:0]
	for i := range recs {
		if recs[i].Kind == s.kind {
			idx = append(idx, i)
		}
	}
	s.idx = idx
	n := len(idx)
	if !s.a.cfg.ParseAhead || n < 2*parseChunk {
		s.proc.slots(1)
		s.preps = grow(s.preps, 1)
		for _, i := range idx {
			s.line(&recs[i], b, 0, false)
		}
		return
	}
	s.proc.slots(parseBuffers * parseChunk)
	s.preps = grow(s.preps, parseBuffers*parseChunk)
	s.parsedAhead += int64(n)
	chunks := (n + parseChunk - 1) / parseChunk
	chunk := func(c int) (base int, is []int) {
		return (c % parseBuffers) * parseChunk, idx[c*parseChunk : min((c+1)*parseChunk, n)]
	}
	// free holds a token per slot buffer the parser may fill; the merge
	// returns one after each chunk, so buffer c%parseBuffers is refilled
	// for chunk c+parseBuffers only after chunk c was merged.
	ready, free, done := make(chan struct{}, parseBuffers), make(chan struct{}, parseBuffers), make(chan struct{})
	for range parseBuffers {
		free <- struct{}{}
	}
	go func() {
		defer close(done)
		for c := range chunks {
			<-free
			base, is := chunk(c)
			for j, i := range is {
				p := &s.preps[base+j]
				p.t, p.res, p.err = s.proc.prepare(base+j, recs[i].Value)
			}
			ready <- struct{}{}
		}
	}()
	for c := range chunks {
		<-ready
		base, is := chunk(c)
		for j, i := range is {
			s.line(&recs[i], b, base+j, true)
		}
		free <- struct{}{}
	}
	<-done
}

// line aggregates one raw line. With parsed, slot already holds the
// line's prepared result; else line prepares it there (unless the line is
// skipped).
func (s *stream) line(r *pipeline.Record, b *inBatch, slot int, parsed bool) {
	pos := position{Source: r.File, Offset: r.Offset}
	if pos.Source == "" { // not from the file tailer
		pos.Source = r.Source
	}
	s.replayBefore(pos)
	s.stats.Lines++
	defer s.replayAt(pos)
	s.lastPos, s.hasPos = pos, true
	if s.skipping(pos) {
		s.stats.Replayed++
		return
	}
	pr := &s.preps[slot]
	if !parsed {
		pr.t, pr.res, pr.err = s.proc.prepare(slot, r.Value)
	}
	t, res, err := pr.t, pr.res, pr.err
	switch res {
	case lineBad:
		s.stats.Bad++
		s.a.badLine(s, r, err)
		return
	case lineFiltered:
		s.stats.Filtered++
		return
	}
	if reason, err := s.sanity.check(s.proc.span(slot)); reason != "" {
		s.stats.Rejected++
		s.a.rejectLine(s, r, reason, err)
		return
	}
	if !s.hasWM || t > s.wm {
		s.wm, s.hasWM = t, true
	}
	p := s.partFor(floorDiv(t, s.window) * s.window)
	if s.ackedAtRestore[p.id] {
		s.stats.Replayed++
	} else {
		if p.last != b {
			p.batches, p.last = append(p.batches, b), b
			b.ref()
		}
		if s.proc.add(p, slot) {
			s.openKeys++
		}
	}
	s.flushDue()
	if s.openKeys >= s.a.cfg.MaxOpenKeys {
		s.flushEvent(event{Type: evAll})
	}
}

// skipping reports whether pos is inside the acknowledged prefix a
// restored state was saved at (the tailer's offset may lag it).
func (s *stream) skipping(pos position) bool {
	if s.skip == nil {
		return false
	}
	if pos.Source != s.skip.Source || pos.Offset > s.skip.Offset {
		s.skip = nil
		return false
	}
	if pos.Offset == s.skip.Offset {
		s.skip = nil
	}
	return true
}

// replayBefore applies restored flush events that lie before pos in the
// same source (their own line was not seen).
func (s *stream) replayBefore(pos position) {
	for s.replayLeft > 0 {
		ev, ok := s.rs.nextEvent(func(p position) bool { return p.Source == pos.Source && p.Offset < pos.Offset })
		if !ok {
			return
		}
		s.replayLeft--
		s.flushEvent(ev)
	}
}

// replayAt applies restored flush events recorded after the line at pos.
func (s *stream) replayAt(pos position) {
	for s.replayLeft > 0 {
		ev, ok := s.rs.nextEvent(func(p position) bool { return p == pos })
		if !ok {
			return
		}
		s.replayLeft--
		s.flushEvent(ev)
	}
}

// partFor returns the open part of bucket, opening one when needed. A
// part opened after the bucket's deadline has passed (late lines) is
// flushed at the next window boundary of the watermark.
func (s *stream) partFor(bucket int64) *part {
	if p := s.open[bucket]; p != nil {
		return p
	}
	end := bucket + s.window
	idx := s.flushed[bucket]
	if s.ancient(bucket, s.wm) {
		idx = max(idx, int(s.wm/s.window))
	}
	deadline := end + s.lateness
	if s.wm >= deadline {
		deadline = (floorDiv(s.wm, s.window) + 1) * s.window
	}
	p := &part{
		id: partID{Bucket: bucket, Index: idx}, deadline: deadline,
		index: map[string]int{},
	}
	if s.kind == pipeline.KindFlow {
		p.srcs = map[uint64]srcState{}
	}
	s.open[bucket] = p
	s.rs.record(delta{op: dOpen, part: openPart{Bucket: bucket, Index: idx, Deadline: deadline}})
	return p
}

// ancient reports whether bucket closed more than the horizon before wm.
func (s *stream) ancient(bucket, wm int64) bool {
	return bucket+s.window+s.lateness+horizon <= wm
}

// prunable reports whether a bucket's flushed count can be forgotten:
// it is ancient and its count is not ahead of the watermark-derived part
// numbers that replace it.
func (s *stream) prunable(bucket int64, parts int, wm int64) bool {
	return s.ancient(bucket, wm) && parts <= int(wm/s.window)
}

// flushDue flushes the parts whose deadline the watermark reached.
func (s *stream) flushDue() {
	var due []*part
	for _, p := range s.open {
		if p.deadline <= s.wm {
			due = append(due, p)
		}
	}
	s.flushParts(due)
}

// flushEvent flushes every open part (evAll) or those whose bucket ended
// at or before max(watermark, ev.Until) (evIdle), recording the event for
// replay. ev.Pos is filled in here.
func (s *stream) flushEvent(ev event) {
	until := ev.Until
	if s.hasWM {
		until = max(until, s.wm)
	}
	var due []*part
	for _, p := range s.open {
		if ev.Type == evAll || ((s.hasWM || ev.Until > 0) && p.id.Bucket+s.window <= until) {
			due = append(due, p)
		}
	}
	if len(due) == 0 {
		return
	}
	ev.Pos = s.lastPos
	s.rs.record(delta{op: dEvent, ev: ev})
	s.flushParts(due)
	s.rs.push()
}

// flushParts closes parts (in bucket order) and queues their documents.
func (s *stream) flushParts(ps []*part) {
	slices.SortFunc(ps, func(a, b *part) int { return cmp.Compare(a.id.Bucket, b.id.Bucket) })
	for _, p := range ps {
		delete(s.open, p.id.Bucket)
		s.flushed[p.id.Bucket] = p.id.Index + 1
		s.openKeys -= p.len()
		s.rs.record(delta{op: dFlush, part: openPart{Bucket: p.id.Bucket, Index: p.id.Index}})
		s.emit(p)
	}
	for b, n := range s.flushed {
		if s.prunable(b, n, s.wm) {
			delete(s.flushed, b)
		}
	}
}

// outBatch is one output batch of a flushed part, not yet encoded: its
// documents are encoded by send, one batch at a time, so a flush of many
// keys never holds all of their documents at once (with labels and
// policies about 2 KB each, beside the entries they come from).
type outBatch struct {
	p       *part // removed from s.open: nothing changes it any more
	from, n int   // entries p.keys[from:from+n]
	meta    schema.Meta
	tm      time.Time
	ack     pipeline.Ack
	docSize int // bytes to reserve per document when encoding
}

// emit queues p's documents as output batches whose Acks together
// acknowledge p; send encodes them.
func (s *stream) emit(p *part) {
	n := p.len()
	if n == 0 {
		return
	}
	s.stats.Documents += int64(n)
	cfg := &s.a.cfg
	meta := schema.Meta{
		Cluster: cfg.Cluster, Host: cfg.Node,
		BucketStart: p.id.Bucket, BucketEnd: p.id.Bucket + s.window,
	}
	tm := time.Unix(p.id.Bucket, 0).UTC()
	// The ack captures the part's id and input batches only, not the
	// part: the entries (about 2 KB a key with labels and policies) are
	// garbage once encoded, not kept until Kafka acknowledges them.
	rs, batches, id := s.rs, p.batches, p.id
	partAck := func(err error) {
		if err == nil {
			rs.markAcked(id)
		}
		for _, b := range batches {
			b.release(err)
		}
	}
	size := cfg.MaxBatchRecords
	acks := pipeline.Split(partAck, (n+size-1)/size)
	for c := range acks {
		s.out = append(s.out, outBatch{p: p, from: c * size, n: min(size, n-c*size),
			meta: meta, tm: tm, ack: acks[c], docSize: int(s.docSize.Load())})
	}
}

// encode builds an output batch's records. One buffer holds the keys and
// documents of the batch, sized from the documents encoded so far,
// instead of one growing allocation per document. Each slice is capped
// so that nothing appended later can reach into it. s.mu need not be
// held: ob's part is no longer open, and emit only reads it.
func (s *stream) encode(ob outBatch) pipeline.Batch {
	cfg := &s.a.cfg
	p, meta := ob.p, ob.meta
	recs := make([]pipeline.Record, 0, ob.n)
	// Documents go into chunks: when the room left in one is less than
	// twice the expected document, the next chunk starts, so a document
	// larger than expected never makes append copy the whole batch into a
	// buffer twice its size (with both alive until the batch is acked).
	var chunks []*[]byte
	var buf []byte
	size, total := ob.docSize, 0
	for i := ob.from; i < ob.from+ob.n; i++ {
		if cap(buf)-len(buf) < 2*size {
			if buf != nil {
				total += len(buf)
				*chunks[len(chunks)-1] = buf
			}
			b := s.buffer((ob.from + ob.n - i + 1) * size)
			buf = b[:0]
			chunks = append(chunks, &b)
		}
		start := len(buf)
		buf = append(buf, p.keys[i]...)
		key := buf[start:len(buf):len(buf)]
		meta.ID = DocID(cfg.Cluster, cfg.Node, s.kind, key, p.id.Bucket, p.id.Index)
		start = len(buf)
		buf = s.proc.emit(p, i, meta, buf)
		recs = append(recs, pipeline.Record{
			Kind: s.kind, Key: key, ID: meta.ID, Time: ob.tm, Node: cfg.Node,
			Value: buf[start:len(buf):len(buf)],
		})
	}
	total += len(buf)
	*chunks[len(chunks)-1] = buf
	if want := int64(total/ob.n + total/ob.n/8); want > s.docSize.Load() {
		s.docSize.Store(want) // a racing smaller store only costs a new chunk
	}
	// Once the next stage acknowledged the batch without error it is done
	// with the records (pipeline.Consumer), so the chunks are reused for
	// later batches: the documents of flushes are most of what the
	// collector allocates. After an error nothing is reused (at shutdown
	// the Kafka client may still hold the bytes).
	ack := ob.ack
	return pipeline.Batch{Records: recs, Ack: func(err error) {
		ack(err)
		if err == nil {
			for _, c := range chunks {
				s.bufs.Put(c)
			}
		}
	}}
}

// buffer returns an empty buffer of at least n bytes, reused from an
// acknowledged batch when one is at hand.
func (s *stream) buffer(n int) []byte {
	if p, ok := s.bufs.Get().(*[]byte); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]byte, 0, n)
}

// takeOut removes the queued output batches for sending; s.mu is held.
func (s *stream) takeOut() []outBatch {
	out := s.out
	s.out = nil
	return out
}

// send encodes output batches and hands them to the next stage, in
// order; s.mu must NOT be held. A batch it refuses is failed here, which
// fails the input lines behind it.
//
// With parse-ahead on and two or more batches, a second goroutine encodes
// every other batch while this one encodes the rest (the parse-ahead
// goroutine is idle by then): encoding a flush is the other large step
// on the input's goroutine. At most one batch waits encoded, so a flush
// still holds about two batches of documents at a time, not all of them.
func (s *stream) send(ctx context.Context, out []outBatch) {
	hand := func(b pipeline.Batch) {
		if err := s.a.next.Consume(ctx, b); err != nil {
			b.Ack(err)
		}
	}
	if !s.a.cfg.ParseAhead || len(out) < 2 {
		for i := range out {
			b := s.encode(out[i])
			out[i] = outBatch{} // the part is garbage once its last batch is encoded
			hand(b)
		}
		return
	}
	odd := make(chan pipeline.Batch, 1)
	go func() {
		for i := 1; i < len(out); i += 2 {
			b := s.encode(out[i])
			out[i] = outBatch{}
			odd <- b
		}
		close(odd)
	}()
	for i := 0; i < len(out); i += 2 {
		b := s.encode(out[i])
		out[i] = outBatch{}
		hand(b)
		if b, ok := <-odd; ok {
			hand(b)
		}
	}
	for range odd { // nothing left: every odd batch was received above
	}
}

// idle flushes complete buckets once the kind had no input for the
// configured time: those that ended at or before the watermark, and those
// that ended at least idle_flush before the wall clock. Felix stamps a line
// with end_time when it writes it, so once the files are read to their end
// and stayed quiet that long, no line of such a bucket can still come (the
// collector runs on Felix's node and shares its clock). Without the wall
// clock the newest bucket would wait for the next Felix flush to move the
// watermark, and at the end of the input it would never be flushed.
func (s *stream) idle(ctx context.Context, now time.Time) {
	s.mu.Lock()
	if s.stopped || s.sending > 0 || s.lastIn.IsZero() || now.Sub(s.lastIn) < s.a.cfg.IdleFlush {
		s.mu.Unlock()
		return
	}
	s.flushEvent(event{Type: evIdle, Until: now.Add(-s.a.cfg.IdleFlush).Unix()})
	out := s.takeOut()
	s.mu.Unlock()
	s.send(ctx, out)
}

// flushAll flushes every open part (offline mode, end of input).
func (s *stream) flushAll(ctx context.Context) {
	s.mu.Lock()
	s.flushEvent(event{Type: evAll})
	out := s.takeOut()
	s.mu.Unlock()
	s.send(ctx, out)
}

// shutdown fails the lines of every open part: they are not acknowledged
// and the tailer reads them again after a restart.
func (s *stream) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	for b, p := range s.open {
		for _, ib := range p.batches {
			ib.release(errShutdown)
		}
		delete(s.open, b)
	}
	s.openKeys = 0
}

// restore loads a persisted state; called before any input.
func (s *stream) restore(raw json.RawMessage) error {
	ks, err := decodeState(raw)
	if err != nil {
		return err
	}
	t := s.rs
	t.mu.Lock()
	defer t.mu.Unlock()
	if ks.Watermark != nil {
		s.wm, s.hasWM = *ks.Watermark, true
		t.snap.wm, t.snap.hasWM = s.wm, true
	}
	for _, f := range ks.Flushed {
		s.flushed[f[0]] = int(f[1])
		t.snap.flushed[f[0]] = int(f[1])
	}
	for _, o := range ks.Open {
		p := &part{id: partID{Bucket: o.Bucket, Index: o.Index}, deadline: o.Deadline, index: map[string]int{}}
		if s.kind == pipeline.KindFlow {
			p.srcs = map[uint64]srcState{}
		}
		s.open[o.Bucket] = p
		t.snap.open[o.Bucket] = o
	}
	s.ackedAtRestore = map[partID]bool{}
	for _, a := range ks.Acked {
		id := partID{Bucket: a[0], Index: int(a[1])}
		t.acked[id], s.ackedAtRestore[id] = struct{}{}, true
	}
	if ks.Pos != nil {
		pos := *ks.Pos
		s.skip, t.snap.pos = &pos, &pos
		s.lastPos, s.hasPos = pos, true
	}
	t.replay, s.replayLeft = ks.Events, len(ks.Events)
	return nil
}
