package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
)

// generation is one consumer-group generation of a Reader: the assigned
// partitions, their checkpointers, and the only path by which their
// offsets are committed.
type generation struct {
	r     *Reader
	gen   *kafkago.Generation
	parts map[topicPartition]*partState
	fly   inflight
	fail  chan error // first failed ack of this generation
	// settled receives a value (without blocking) whenever a batch
	// settles; commitLoop commits commit_delay after the first one.
	settled chan struct{}

	commitMu sync.Mutex // serialises commits; guards closed and partState.committed
	closed   bool       // no commit may happen any more
}

type partState struct {
	cp        *pipeline.Checkpointer[int64] // positions are message offsets
	start     int64                         // offset (or FirstOffset/LastOffset) assigned
	committed int64                         // next offset already committed; -1 unknown
	// For the lag gauge, written by the partition's fetch goroutine:
	first atomic.Int64 // offset of the first record fetched in this generation; -1 none yet
	hwm   atomic.Int64 // high watermark at the last fetch; -1 none yet
}

// lag returns the records from the first one not yet settled up to the
// high watermark seen at the last fetch, and false before the first
// fetch. Records fetched and handed on but not yet settled count: while
// Elasticsearch refuses writes the lag grows with what the producers add
// (as far as fetches still see it), it does not drop to 0.
func (p *partState) lag() (int64, bool) {
	first, hwm := p.first.Load(), p.hwm.Load()
	if first < 0 || hwm < 0 {
		return 0, false
	}
	next := first
	if h, ok := p.cp.Highest(); ok {
		next = h + 1
	}
	return max(hwm-next, 0), true
}

func newGeneration(r *Reader, gen *kafkago.Generation) *generation {
	g := &generation{r: r, gen: gen, parts: map[topicPartition]*partState{}, fail: make(chan error, 1),
		settled: make(chan struct{}, 1)}
	for topic, as := range gen.Assignments {
		for _, a := range as {
			committed := a.Offset
			if committed < 0 {
				committed = -1
			}
			p := &partState{cp: pipeline.NewCheckpointer[int64](), start: a.Offset, committed: committed}
			p.first.Store(-1)
			p.hwm.Store(-1)
			g.parts[topicPartition{topic, a.ID}] = p
		}
	}
	return g
}

// run reads the generation's partitions until ctx (the Reader's) or gctx
// (the generation's) ends or a batch fails, then drains and commits.
func (g *generation) run(ctx, gctx context.Context) {
	life, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(gctx, cancel)
	defer stop()

	msgs := make(chan kafkago.Message, 256)
	var wg sync.WaitGroup
	var tps []topicPartition
	for tp, p := range g.parts {
		tps = append(tps, tp)
		g.r.watchLag(tp, p)
		pr := g.partitionReader(tp)
		if err := pr.SetOffset(p.start); err != nil {
			g.r.log.Error("kafka: cannot start reading partition", "topic", tp.topic, "partition", tp.partition, "error", err.Error())
			pr.Close()
			continue
		}
		wg.Go(func() {
			defer pr.Close()
			g.fetch(life, tp, p, pr, msgs)
		})
	}
	wg.Go(func() { g.commitLoop(life) })

	err := g.batchLoop(life, msgs)
	cancel()
	wg.Wait()
	if err != nil && ctx.Err() == nil {
		g.r.log.Error("kafka: "+err.Error()+"; rejoining the group to read again from the last committed offset",
			"generation", g.gen.ID)
	}
	g.finish()
	g.r.dropLag(tps)
}

// finish waits up to drain_timeout for in-flight batches, commits what
// settled and closes the generation for commits.
func (g *generation) finish() {
	t := time.NewTimer(g.r.cfg.DrainTimeout)
	select {
	case <-g.fly.idle():
	case <-t.C:
		g.r.log.Warn("kafka: batches still in flight at the end of a generation; their records are read again by the partition's next owner",
			"generation", g.gen.ID, "drain_timeout", g.r.cfg.DrainTimeout.String())
	}
	t.Stop()
	g.commit(context.Background())
	g.commitMu.Lock()
	g.closed = true
	g.commitMu.Unlock()
}

func (g *generation) partitionReader(tp topicPartition) *kafkago.Reader {
	c := g.r.cfg
	return kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:     c.Brokers,
		Topic:       tp.topic,
		Partition:   tp.partition,
		Dialer:      g.r.d.dialer,
		MinBytes:    int(c.MinBytes),
		MaxBytes:    int(c.MaxBytes),
		MaxWait:     c.MaxWait,
		Logger:      kafkaGoLogger(g.r.log),
		ErrorLogger: kafkaGoLogger(g.r.log),
	})
}

// fetch forwards the messages of one partition, in offset order.
func (g *generation) fetch(life context.Context, tp topicPartition, p *partState, pr *kafkago.Reader, out chan<- kafkago.Message) {
	b := pipeline.DefaultBackoff()
	for attempt := 1; ; {
		m, err := pr.FetchMessage(life)
		if err != nil {
			if life.Err() != nil {
				return
			}
			g.r.m.fetchErrors.Add(life, 1)
			g.r.log.Warn("kafka: fetch failed; retrying", "topic", tp.topic, "partition", tp.partition, "error", err.Error())
			select {
			case <-life.Done():
				return
			case <-time.After(b.Delay(attempt)):
			}
			attempt++
			continue
		}
		attempt = 1
		p.first.CompareAndSwap(-1, m.Offset)
		p.hwm.Store(m.HighWaterMark)
		select {
		case out <- m:
		case <-life.Done():
			return
		}
	}
}

// commitLoop commits settled offsets commit_delay after a batch settles
// (the settles within that delay share one commit), and every
// commit_interval besides, which also retries a failed commit.
func (g *generation) commitLoop(life context.Context) {
	t := time.NewTicker(g.r.cfg.CommitInterval)
	defer t.Stop()
	delay := time.NewTimer(g.r.cfg.CommitDelay)
	delay.Stop()
	defer delay.Stop()
	armed := false
	for {
		select {
		case <-life.Done():
			return
		case <-g.settled:
			if !armed {
				armed = true
				delay.Reset(g.r.cfg.CommitDelay)
			}
			continue
		case <-delay.C:
			armed = false
		case <-t.C:
		}
		g.commit(life)
	}
}

// commit commits, for every partition whose watermark moved, the offset
// after the last contiguously settled record. A commit the coordinator
// rejects because the generation is over closes the generation for
// commits.
func (g *generation) commit(ctx context.Context) {
	g.commitMu.Lock()
	defer g.commitMu.Unlock()
	if g.r.afterCommit != nil {
		defer g.r.afterCommit()
	}
	if g.closed {
		return
	}
	offsets := map[string]map[int]int64{}
	for tp, p := range g.parts {
		h, ok := p.cp.Highest()
		if !ok || h+1 <= p.committed {
			continue
		}
		if offsets[tp.topic] == nil {
			offsets[tp.topic] = map[int]int64{}
		}
		offsets[tp.topic][tp.partition] = h + 1
	}
	if len(offsets) == 0 {
		return
	}
	if err := g.gen.CommitOffsets(offsets); err != nil {
		g.r.m.commitErrors.Add(ctx, 1)
		if staleGeneration(err) {
			g.closed = true
			g.r.log.Warn("kafka: the group moved to a new generation; offsets of this one are not committed, their records are read again",
				"generation", g.gen.ID, "error", err.Error())
			return
		}
		g.r.log.Warn("kafka: offset commit failed; retrying at the next interval", "error", err.Error())
		return
	}
	g.r.m.commits.Add(ctx, 1)
	for topic, ps := range offsets {
		for part, off := range ps {
			g.parts[topicPartition{topic, part}].committed = off
		}
	}
}

func staleGeneration(err error) bool {
	return errors.Is(err, kafkago.IllegalGeneration) || errors.Is(err, kafkago.UnknownMemberId) ||
		errors.Is(err, kafkago.RebalanceInProgress) || errors.Is(err, kafkago.FencedInstanceID) ||
		errors.Is(err, kafkago.ErrGenerationEnded)
}

// failed records the first failed ack of the generation.
func (g *generation) failed(tps map[topicPartition]int64, err error) {
	var where string
	for tp, off := range tps {
		where = fmt.Sprintf("%s/%d up to offset %d", tp.topic, tp.partition, off)
		break
	}
	select {
	case g.fail <- fmt.Errorf("a batch from %s (and %d other partition(s)) failed: %w", where, len(tps)-1, err):
	default:
	}
}
