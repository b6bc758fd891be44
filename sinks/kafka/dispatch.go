package kafka

import (
	"context"
	"fmt"
	"slices"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
)

// dispatch hands t to kafka-go, retrying until ctx ends if kafka-go
// refuses it (no metadata, unknown topic, unreachable brokers).
func (w *Writer) dispatch(ctx context.Context, t *inflightBatch) {
	send := t.msgs
	if slices.ContainsFunc(send, w.unsendable) {
		send = w.route(send)
		if len(send) == 0 {
			return
		}
	}
	_ = pipeline.Retry(ctx, w.cfg.Retry.backoff(), func(ctx context.Context) error {
		c, cancel := context.WithTimeout(ctx, w.cfg.WriteTimeout)
		defer cancel()
		return w.kw.WriteMessages(c, send...)
	}, func(_ int, err error) { w.m.errors.Add(ctx, 1, reasonAttr(w.health.fail(err))) })
	// An error here means ctx ended; shutdown fails t.
}

// route dead-letters the messages Kafka could never take and returns a
// new slice of the others.
func (w *Writer) route(msgs []kafkago.Message) []kafkago.Message {
	var send, tooBig, noTopic []kafkago.Message
	for _, m := range msgs {
		switch {
		case m.Topic == "":
			noTopic = append(noTopic, m)
		case w.unsendable(m):
			tooBig = append(tooBig, m)
		default:
			send = append(send, m)
		}
	}
	if len(tooBig) > 0 {
		w.deadLetter(tooBig, "too_large", fmt.Sprintf("message larger than kafka.max_message_bytes (%s)", w.cfg.MaxMessageBytes))
	}
	if len(noTopic) > 0 {
		w.deadLetter(noTopic, "no_topic", "record kind has no topic; only flows, l7 and dns are produced")
	}
	return send
}

func (w *Writer) unsendable(m kafkago.Message) bool {
	return m.Topic == "" || messageSize(m) > int(w.cfg.MaxMessageBytes)
}

// deadLetter writes msgs to the dead-letter log and settles them.
func (w *Writer) deadLetter(msgs []kafkago.Message, reason, detail string) {
	if err := w.dl.write(msgs, detail); err != nil {
		for _, m := range msgs {
			w.log.Error("kafka: could not write a message Kafka cannot accept to the dead-letter log; it is dropped",
				"error", err.Error(), "topic", m.Topic, "id", headerValue(m, HeaderID), "size", messageSize(m), "reason", detail)
		}
	} else {
		w.log.Warn("kafka: dead-lettered messages Kafka cannot accept", "count", len(msgs),
			"reason", detail, "file", w.cfg.DeadLetterLog, "first_id", headerValue(msgs[0], HeaderID))
	}
	w.m.deadLetter.Add(context.Background(), int64(len(msgs)), reasonAttr(reason))
	settleMessages(msgs)
}

// completion is kafka-go's callback for one partition batch.
func (w *Writer) completion(msgs []kafkago.Message, err error) {
	if len(msgs) == 0 {
		return
	}
	if err != nil {
		w.m.errors.Add(context.Background(), 1, reasonAttr(w.health.fail(err)))
		w.retries.push(retryGroup{msgs: msgs, err: err})
		return
	}
	w.health.ok()
	w.written(msgs)
}

// written counts msgs, which kafka-go wrote to one partition, and settles them.
func (w *Writer) written(msgs []kafkago.Message) {
	if k, ok := w.kinds[msgs[0].Topic]; ok {
		w.m.written.Add(context.Background(), int64(len(msgs)), kindAttr(k))
	}
	settleMessages(msgs)
}

// settleMessages settles each message with its inflightBatch, counting runs of
// the same batch at once.
func settleMessages(msgs []kafkago.Message) {
	var cur *inflightBatch
	n := 0
	for i := range msgs {
		t, _ := msgs[i].WriterData.(*inflightBatch)
		if t != cur {
			if cur != nil {
				cur.done(n)
			}
			cur, n = t, 0
		}
		n++
	}
	if cur != nil {
		cur.done(n)
	}
}

func headerValue(m kafkago.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
