package filetail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// Tailer reads the files of one input and hands their lines, in batches,
// to the next stage. It owns the input's positions file. Create it with
// New and start it with Run.
type Tailer struct {
	cfg  Config
	log  *slog.Logger
	next pipeline.Consumer
	m    *metrics

	live  map[string]bool // live paths (patterns without glob characters)
	slots chan struct{}   // one per batch in flight

	mu    sync.Mutex // guards files, state, identity fields of tracked
	files []*tracked // in reading order (oldest first)
	state json.RawMessage

	lastWritten, lastFluentd []byte // positions writer only

	// read loop only
	seq              uint64
	saved            []filePosition // from our positions file, matched on the first scan
	fluentd          []Position     // imported fluentd positions, first scan only
	firstRun         bool           // no positions of our own existed
	leadFrag         map[string]bool
	open             atomic.Int64                   // descriptors held; read by the metrics callback
	failures         failures                       // files that cannot be opened or read
	openFile         func(string) (*os.File, error) // os.Open; a test seam (root reads any file)
	deadLetter       deadLetterWriter               // nil: skipped lines are only counted and logged
	deadLetterLogged time.Time                      // last log of a failed dead-letter write (read loop)
	reuse            bool                           // ReuseLines was called
	spare            batch                          // read loop: the last sent batch's memory, for the next one
	full             bool                           // the sink refused a line: send the batch
	rbuf             []byte
	b                batch
}

// New validates cfg, loads the positions file (a corrupt one is moved
// aside to <file>.corrupt, logged, and the input starts per start_at) and
// returns a Tailer that sends to next.
func New(cfg Config, tel pipeline.Telemetry, next pipeline.Consumer) (*Tailer, error) {
	cfg = cfg.Resolved()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Tailer{
		cfg:      cfg,
		log:      tel.Logger.With("stage", "filetail", "kind", string(cfg.Kind)),
		next:     next,
		live:     map[string]bool{},
		slots:    make(chan struct{}, cfg.MaxInflightBatches),
		leadFrag: map[string]bool{},
		rbuf:     make([]byte, 64<<10),
		failures: failures{byPath: map[string]*fileFailure{}},
		openFile: os.Open,
	}
	for _, p := range cfg.Paths {
		if isLivePattern(p) {
			t.live[p] = true
		}
	}
	m, err := newMetrics(tel.Meter, t)
	if err != nil {
		return nil, err
	}
	t.m = m
	t.loadStart()
	return t, nil
}

// loadStart reads our positions file or, on a first start, the fluentd
// pos file to import.
func (t *Tailer) loadStart() {
	doc, err := loadPositions(t.cfg.PositionsFile, string(t.cfg.Kind))
	if errors.Is(err, errCorrupt) {
		t.m.positionsErrors.Add(context.Background(), 1)
		kerr := keepCorrupt(t.cfg.PositionsFile)
		t.log.Error("positions file unusable; starting per start_at, a copy is kept as .corrupt",
			"file", t.cfg.PositionsFile, "err", err, "keep_err", kerr)
		doc, err = nil, nil
	}
	if err != nil {
		t.m.positionsErrors.Add(context.Background(), 1)
		t.log.Error("cannot read positions file; starting per start_at; check its permissions",
			"file", t.cfg.PositionsFile, "err", err)
	}
	if doc != nil {
		t.saved, t.state = doc.Files, doc.State
		return
	}
	t.firstRun = true
	if t.cfg.ImportFluentdPos == "" {
		return
	}
	ps, err := ImportFluentdPos(t.cfg.ImportFluentdPos)
	if err != nil {
		t.log.Warn("no fluentd positions imported; starting per start_at", "file", t.cfg.ImportFluentdPos, "err", err)
		return
	}
	t.fluentd = ps
	t.log.Info("importing fluentd positions", "file", t.cfg.ImportFluentdPos, "entries", len(ps))
}

// State returns the state blob saved with SetState before the last
// shutdown (nil if none). Read it before Run to restore a later stage.
func (t *Tailer) State() json.RawMessage {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// SetState attaches state, an opaque JSON value owned by a later stage
// (the aggregator's last flushed bucket), to the positions file: it is
// written in the same atomic write as the offsets. Call it before calling
// the Acks whose offsets it belongs with: a positions write then never
// pairs offsets with an older state (it may pair the new state with the
// older offsets, which a later stage must allow for). A nil state removes
// it.
func (t *Tailer) SetState(state json.RawMessage) {
	cp := append(json.RawMessage(nil), state...)
	t.mu.Lock()
	t.state = cp
	t.mu.Unlock()
}

// Run reads until ctx ends or the next stage fails. At the end it waits
// up to DrainTimeout for batches in flight, writes the positions file a
// last time and closes every file. It returns nil when ctx ended.
func (t *Tailer) Run(ctx context.Context) error {
	defer t.m.unregister()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t.positionsLoop(stop)
	}()
	err := t.readLoop(ctx)
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		err = nil
	}
	t.drain()
	close(stop)
	wg.Wait()
	if werr := t.writePositions(true); werr != nil {
		err = errors.Join(err, werr)
	}
	for _, r := range t.files {
		r.closeFile()
	}
	return err
}

func (t *Tailer) readLoop(ctx context.Context) error {
	first := true
	for {
		if err := t.scan(first); err != nil {
			return err
		}
		first = false
		if err := t.readAll(ctx); err != nil {
			return err
		}
		wait := t.cfg.PollInterval
		if t.b.file != nil {
			left := t.cfg.Linger - time.Since(t.b.started)
			if left <= 0 {
				if err := t.send(ctx); err != nil {
					return err
				}
			} else {
				wait = min(wait, left)
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// drain waits up to DrainTimeout until no batch is in flight.
func (t *Tailer) drain() {
	deadline := time.Now().Add(t.cfg.DrainTimeout)
	for len(t.slots) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(t.slots); n > 0 {
		t.log.Warn("batches still unacknowledged at shutdown; their lines will be read again on restart", "batches", n)
	}
}

// ReuseLines tells the tailer that its next stage uses no line of a
// batch (Record.Value) once its Consume has returned, as the aggregator
// (it parses, merges and copies what it keeps before returning): each
// batch is then read into the memory of the one before, instead of a new
// allocation per batch (about BatchBytes, zeroed by the runtime, and the
// collector's largest allocation). Call it before Run.
func (t *Tailer) ReuseLines() { t.reuse = true }

// batch is the batch being filled; all its lines come from one file.
type batch struct {
	file    *tracked
	recs    []pipeline.Record
	arena   []byte
	bytes   int
	end     pos
	started time.Time
}

// line implements lineSink: it copies b into the batch unless the batch
// is full or holds lines of another file.
func (t *Tailer) line(r *tracked, b []byte, at pos) bool {
	if t.b.file != nil && t.b.file != r {
		t.full = true
		return false
	}
	if at.Off == 0 && r.livePath != "" && t.leadFrag[r.livePath] {
		// The rest of the line a rotation cut off the previous file.
		delete(t.leadFrag, r.livePath)
		return t.bad(r, reasonFragment, at, at.after(int64(len(b))+1))
	}
	if n := len(t.b.recs); n > 0 && (n >= t.cfg.BatchLines || t.b.bytes+len(b) > int(t.cfg.BatchBytes)) {
		t.full = true
		return false
	}
	t.own(r)
	if r.key == "" {
		t.setKey(r)
	}
	if t.b.arena == nil { // one allocation per batch, sized so it rarely grows
		if t.spare.arena != nil { // ReuseLines: the previous batch's memory
			t.b.arena, t.b.recs = t.spare.arena[:0], t.spare.recs[:0]
			t.spare = batch{}
		} else {
			t.b.arena = make([]byte, 0, min(int(t.cfg.BatchBytes), 4<<20))
			t.b.recs = make([]pipeline.Record, 0, min(t.cfg.BatchLines, 4096))
		}
	}
	start := len(t.b.arena)
	t.b.arena = append(t.b.arena, b...)
	t.b.recs = append(t.b.recs, pipeline.Record{
		Kind:   t.cfg.Kind,
		Value:  t.b.arena[start:len(t.b.arena):len(t.b.arena)],
		Source: r.path,
		Offset: at.Off,
		Line:   at.Line,
		File:   r.key,
	})
	t.b.bytes += len(b)
	t.b.end = at.after(int64(len(b)) + 1)
	return true
}

// bad implements lineSink: the line is counted and skipped, and the batch
// end moves past it so the checkpoint covers it.
func (t *Tailer) bad(r *tracked, reason string, at, next pos) bool {
	if t.b.file != nil && t.b.file != r {
		t.full = true
		return false
	}
	t.own(r)
	t.b.end = next
	t.m.badLine(reason)
	if reason == reasonTooLong {
		t.deadLetterLine(r, reason, at, next)
	}
	t.log.Warn("line skipped", "file", r.path, "offset", at.Off, "line", at.Line, "reason", reason,
		"bytes", next.Off-at.Off, "max_line_size", int64(t.cfg.MaxLineSize))
	return true
}

// setKey derives r's identity for Record.File from its first line.
func (t *Tailer) setKey(r *tracked) {
	k, ok := fileKey(r.id, r.f)
	if !ok { // the first line is not there: rewritten under us; check will see it
		k = fmt.Sprintf("%x:%x:%s/%d", r.id.Dev, r.id.Inode, r.fp, r.fp.Len)
	}
	t.mu.Lock()
	r.key = k
	t.mu.Unlock()
}

func (t *Tailer) own(r *tracked) {
	if t.b.file == nil {
		t.b.file, t.b.started = r, time.Now()
	}
}

// send hands the batch on. It blocks while MaxInflightBatches are in
// flight or while next blocks. A batch of skipped lines only is resolved
// at once so the checkpoint moves past them in order.
func (t *Tailer) send(ctx context.Context) error {
	b := t.b
	t.b = batch{}
	if b.file == nil {
		return nil
	}
	resolve := b.file.cp.Track(b.end)
	if len(b.recs) == 0 {
		resolve(nil)
		return nil
	}
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		resolve(ctx.Err())
		return ctx.Err()
	}
	// Counted per batch, not per line, to keep the read path cheap.
	t.m.lines.Add(ctx, int64(len(b.recs)), t.m.kindAttr)
	t.m.bytes.Add(ctx, int64(b.bytes+len(b.recs)), t.m.kindAttr)
	// The ack outlives the batch: it must not hold the batch's lines.
	path, first := b.file.path, b.recs[0].Offset
	ack := pipeline.Once(func(err error) {
		resolve(err)
		<-t.slots
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			t.m.ackErrors.Add(context.Background(), 1, t.m.kindAttr)
			t.log.Error("batch not delivered; its file's position stays before it until restart",
				"file", path, "offset", first, "err", err)
		}
	})
	err := t.next.Consume(ctx, pipeline.Batch{Records: b.recs, Ack: ack})
	if t.reuse {
		clear(b.recs) // no string of the old lines' records stays reachable
		t.spare = batch{arena: b.arena, recs: b.recs}
	}
	if err != nil {
		ack(err)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("filetail %s: next stage refused a batch from %s: %w", t.cfg.Kind, path, err)
	}
	return nil
}
