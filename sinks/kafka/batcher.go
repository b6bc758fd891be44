package kafka

import (
	"context"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
)

// pendingBatch is the batch being filled. top holds, per partition, the
// highest offset it covers, including skipped bad messages.
type pendingBatch struct {
	recs   []pipeline.Record
	bytes  int
	top    map[topicPartition]int64
	topics map[string]int64 // records per topic, for the metric
}

func newPendingBatch(capacity int) pendingBatch {
	return pendingBatch{
		recs: make([]pipeline.Record, 0, capacity),
		top:  map[topicPartition]int64{}, topics: map[string]int64{},
	}
}

func (b *pendingBatch) empty() bool { return len(b.top) == 0 }

// batchLoop turns fetched messages into batches for next until life ends
// (nil) or a batch of this generation fails (its error). A batch still
// being filled when life ends is dropped unacked: it was never handed on,
// and its offsets are not committed.
func (g *generation) batchLoop(life context.Context, msgs <-chan kafkago.Message) error {
	cfg := g.r.cfg
	b := newPendingBatch(0)
	linger := time.NewTimer(cfg.Linger)
	linger.Stop()
	defer linger.Stop()
	for {
		select {
		case <-life.Done():
			return nil
		case err := <-g.fail:
			if life.Err() != nil {
				return nil
			}
			return err
		case m := <-msgs:
			if b.empty() {
				linger.Reset(cfg.Linger)
			}
			g.add(&b, m)
			if len(b.recs) < cfg.BatchSize && b.bytes < int(cfg.BatchBytes) {
				continue
			}
		case <-linger.C:
		}
		linger.Stop()
		if !b.empty() {
			g.emit(life, b)
			b = newPendingBatch(len(b.recs))
		}
	}
}

// add converts m into b; a message that breaks the contract is logged,
// counted and only advances the partition's position.
func (g *generation) add(b *pendingBatch, m kafkago.Message) {
	b.top[topicPartition{m.Topic, m.Partition}] = m.Offset
	rec, err := FromMessage(m)
	if err != nil {
		g.r.m.badMessages.Add(context.Background(), 1, topicAttr(m.Topic))
		g.r.log.Warn("kafka: skipping a message that breaks the wire contract (docs/kafka-contract.md)",
			"topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "error", err.Error())
		return
	}
	b.recs = append(b.recs, rec)
	b.bytes += len(rec.Value)
	b.topics[m.Topic]++
}

// emit tracks b's positions and hands it to next. Consume blocking is the
// Reader's backpressure; if it fails, the batch is resolved as failed,
// which keeps its offsets uncommitted.
func (g *generation) emit(life context.Context, b pendingBatch) {
	resolve := make([]func(error), 0, len(b.top))
	for tp, off := range b.top {
		resolve = append(resolve, g.parts[tp].cp.Track(off))
	}
	g.fly.add()
	ack := pipeline.Once(func(err error) {
		for _, res := range resolve {
			res(err)
		}
		if err != nil {
			g.failed(b.top, err)
		} else {
			select {
			case g.settled <- struct{}{}:
			default: // a commit is already due
			}
		}
		g.fly.done()
	})
	if len(b.recs) == 0 {
		ack(nil)
		return
	}
	for topic, n := range b.topics {
		g.r.m.read.Add(life, n, topicAttr(topic))
	}
	if err := g.r.next.Consume(life, pipeline.Batch{Records: b.recs, Ack: ack}); err != nil {
		ack(err)
	}
}
