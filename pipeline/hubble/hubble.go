// Package hubble is the stage between a file tailer reading a Cilium
// Hubble exporter file and the aggregator: it turns each exporter line
// into the Calico flows.log or l7.log line it maps to (schema.ParseHubble,
// docs/sources.md) and hands those on with the tailer's positions, so the
// aggregator, its state and the positions file work as for Felix's files.
//
// One Converter keeps one kind: the flows converter keeps the L3/L4 flow
// events, the L7 converter the l7.http requests. Lines that are not of its
// kind are left out of the batch handed on (the batch's one Ack still
// covers them). Only the Converter built with Counting counts and logs
// lost_events, other event types and bad lines, so two converters over
// the same files count each line once.
package hubble

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
)

// Converter maps Hubble exporter lines onto Calico lines of one kind.
type Converter struct {
	kind     pipeline.Kind
	counting bool
	next     pipeline.Consumer
	log      *slog.Logger
	events   metric.Int64Counter
	lost     metric.Int64Counter
	bad      metric.Int64Counter

	mu       sync.Mutex // guards the log rate limits only
	badLog   rateLimit
	lostLogs rateLimit
}

// New returns a Converter keeping kind (pipeline.KindFlow or
// pipeline.KindL7) and handing batches to next. counting says whether
// this converter counts and logs the lines no converter keeps.
func New(kind pipeline.Kind, counting bool, tel pipeline.Telemetry, next pipeline.Consumer) (*Converter, error) {
	if kind != pipeline.KindFlow && kind != pipeline.KindL7 {
		return nil, errors.New("hubble: kind must be flows or l7")
	}
	c := &Converter{kind: kind, counting: counting, next: next, log: tel.Logger}
	var err1, err2, err3 error
	c.events, err1 = tel.Meter.Int64Counter("flowship_hubble_events_total",
		metric.WithDescription("Hubble exporter lines read, by event (flow, l7, l7_skipped, lost_events, other)."))
	c.lost, err2 = tel.Meter.Int64Counter("flowship_hubble_lost_events_total",
		metric.WithDescription("Events Cilium reported lost before export (lost_events num_events_lost), by source."))
	c.bad, err3 = tel.Meter.Int64Counter("flowship_hubble_bad_lines_total",
		metric.WithDescription("Hubble exporter lines that could not be mapped, by reason; each is logged with its file and line."))
	return c, errors.Join(err1, err2, err3)
}

// Consume maps b's records and hands the kept ones on in one batch with
// b's Ack. The mapped lines share one buffer owned by the new batch.
func (c *Converter) Consume(ctx context.Context, b pipeline.Batch) error {
	out := make([]pipeline.Record, 0, len(b.Records))
	var arena []byte
	var counts [5]int64
	for i := range b.Records {
		r := &b.Records[i]
		h, ev, err := schema.ParseHubble(r.Value)
		if err != nil {
			c.badLine(ctx, r, err)
			continue
		}
		counts[ev]++
		start := len(arena)
		switch {
		case ev == schema.HubbleFlowEvent && c.kind == pipeline.KindFlow:
			arena = schema.AppendHubbleFlowLine(arena, &h)
		case ev == schema.HubbleL7 && c.kind == pipeline.KindL7:
			arena = schema.AppendHubbleL7Line(arena, &h)
		default:
			if ev == schema.HubbleLost && c.counting {
				c.lostEvents(ctx, r, h.LostEvents)
			}
			continue
		}
		nr := *r
		nr.Kind = c.kind
		nr.Value = arena[start:len(arena):len(arena)]
		out = append(out, nr)
	}
	if c.counting {
		for ev, n := range counts {
			if n > 0 {
				c.events.Add(ctx, n, metric.WithAttributes(attribute.String("event", eventNames[ev])))
			}
		}
	}
	// Values were sliced while arena grew: re-slice from the final buffer.
	if len(out) > 0 {
		off := 0
		for i := range out {
			n := len(out[i].Value)
			out[i].Value = arena[off : off+n : off+n]
			off += n
		}
	}
	return c.next.Consume(ctx, pipeline.Batch{Records: out, Ack: b.Ack})
}

var eventNames = [...]string{
	schema.HubbleFlowEvent: "flow", schema.HubbleL7: "l7", schema.HubbleL7Skipped: "l7_skipped",
	schema.HubbleLost: "lost_events", schema.HubbleOther: "other",
}

// badLine counts and logs (rate-limited) a line that does not map.
func (c *Converter) badLine(ctx context.Context, r *pipeline.Record, err error) {
	if !c.counting {
		return
	}
	reason := "invalid_field"
	var fe *schema.FieldError
	if !errors.As(err, &fe) {
		reason = "invalid_json"
	}
	c.bad.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", reason)))
	c.mu.Lock()
	ok, suppressed := c.badLog.allow(time.Now())
	c.mu.Unlock()
	if ok {
		c.log.Warn("bad Hubble line skipped", "file", r.Source, "line", r.Line, "offset", r.Offset,
			"err", err, "suppressed_since_last", suppressed)
	}
}

// lostEvents counts and logs (rate-limited) a lost_events record.
func (c *Converter) lostEvents(ctx context.Context, r *pipeline.Record, l *schema.HubbleLostEvents) {
	src := l.Source
	if src == "" {
		src = "UNKNOWN_LOST_EVENT_SOURCE"
	}
	c.lost.Add(ctx, int64(min(uint64(l.NumEventsLost), 1<<62)), metric.WithAttributes(attribute.String("source", src)))
	c.mu.Lock()
	ok, suppressed := c.lostLogs.allow(time.Now())
	c.mu.Unlock()
	if ok {
		c.log.Warn("Cilium lost Hubble events before export", "source", src, "num_events_lost", uint64(l.NumEventsLost),
			"file", r.Source, "line", r.Line, "suppressed_since_last", suppressed)
	}
}

// rateLimit allows 10 messages a minute, then counts the suppressed.
type rateLimit struct {
	since      time.Time
	n          int
	suppressed int
}

func (b *rateLimit) allow(now time.Time) (bool, int) {
	if now.Sub(b.since) >= time.Minute {
		b.since, b.n = now, 0
	}
	if b.n >= 10 {
		b.suppressed++
		return false, 0
	}
	b.n++
	s := b.suppressed
	b.suppressed = 0
	return true, s
}
