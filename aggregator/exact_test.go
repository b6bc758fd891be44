package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/flowship/flowship/pipeline"
)

// holdSink keeps every output batch and its Ack until the test acks it.
type holdSink struct {
	mu   sync.Mutex
	docs []pipeline.Record // every record handed over, acked or not
	held []heldBatch
}

type heldBatch struct {
	recs []pipeline.Record
	ack  pipeline.Ack
}

func (s *holdSink) Consume(_ context.Context, b pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Copies: after an Ack the aggregator reuses the records' bytes
	// (pipeline.Consumer), and the test keeps them past that.
	recs := make([]pipeline.Record, len(b.Records))
	for i, r := range b.Records {
		r.Key, r.Value = slices.Clone(r.Key), slices.Clone(r.Value)
		recs[i] = r
	}
	s.docs = append(s.docs, recs...)
	s.held = append(s.held, heldBatch{recs, b.Ack})
	return nil
}

// ackSome acks a random subset of the held batches, in random order, and
// returns the records it acked.
func (s *holdSink) ackSome(rng *rand.Rand, frac float64) []pipeline.Record {
	s.mu.Lock()
	var pick, keep []heldBatch
	for _, h := range s.held {
		if rng.Float64() < frac {
			pick = append(pick, h)
		} else {
			keep = append(keep, h)
		}
	}
	s.held = keep
	s.mu.Unlock()
	rng.Shuffle(len(pick), func(i, j int) { pick[i], pick[j] = pick[j], pick[i] })
	var out []pipeline.Record
	for _, h := range pick {
		out = append(out, h.recs...)
		h.ack(nil)
	}
	return out
}

// exactInput is a realistic flows.log of one node: Felix windows of ~300 s
// with jitter, several pods and ports, denied flows with staged policies,
// long-lived connections carried between windows, and a few late lines.
func exactInput(t testing.TB, rng *rand.Rand) [][]byte {
	var lines [][]byte
	start := int64(1749542400)
	for w := 0; w < 12; w++ {
		end := start + 300 + rng.Int64N(61) - 30
		for i := 0; i < 5+rng.IntN(20); i++ {
			mods := map[string]any{
				"start_time": start, "end_time": end,
				"source_port": 40000 + rng.IntN(4), "dest_port": []int{8080, 9090, 443}[rng.IntN(3)],
				"source_ip": fmt.Sprintf("10.42.1.%d", 10+rng.IntN(4)), "num_flows": 1 + rng.IntN(3),
				"num_flows_started": rng.IntN(2), "bytes_out": rng.IntN(5000), "packets_out": rng.IntN(50),
			}
			if rng.IntN(5) == 0 {
				mods["action"] = "deny"
			}
			if rng.IntN(15) == 0 { // a late line from an older window
				mods["start_time"], mods["end_time"] = start-1200, end-1200
			}
			lines = append(lines, line(t, baseFlow, mods))
		}
		start = end
	}
	return lines
}

const idleEvery = 17

type exactRun struct {
	a     *Aggregator
	sink  *holdSink
	cp    *pipeline.Checkpointer[int]
	saved []persisted // every (offset, state) pair the tailer could have written
}

// persisted is what the tailer's positions file holds: the contiguous
// acknowledged offset and the state last set, read together.
type persisted struct {
	resume int
	state  json.RawMessage
}

func newExactRun(t testing.TB, cfg Config) *exactRun {
	r := &exactRun{sink: &holdSink{}, cp: pipeline.NewCheckpointer[int]()}
	var err error
	if r.a, err = New(cfg, pipeline.NopTelemetry(), r.sink); err != nil {
		t.Fatal(err)
	}
	r.a.OnState(pipeline.KindFlow, func(s json.RawMessage) {
		// Called before the Acks it belongs with: the offset lags here.
		o, _ := r.cp.Highest()
		r.saved = append(r.saved, persisted{o, s})
	})
	return r
}

// feed sends lines[from:to] in random batches, calling between after
// each batch with the index of the next line.
func (r *exactRun) feed(t testing.TB, rng *rand.Rand, lines [][]byte, offs []int64, from, to int, between func(next int)) {
	for i := from; i < to; {
		n := min(1+rng.IntN(6), to-i)
		if cut := (i/idleEvery + 1) * idleEvery; i+n > cut {
			n = cut - i // idle flushes happen at fixed line numbers in every run
		}
		recs := make([]pipeline.Record, n)
		for j := range recs {
			recs[j] = pipeline.Record{Kind: pipeline.KindFlow, Value: lines[i+j], Source: "flows.log", Offset: offs[i+j], Line: int64(i + j + 1)}
		}
		ack := r.cp.Track(i + n)
		if err := r.a.Consume(context.Background(), pipeline.Batch{Records: recs, Ack: ack}); err != nil {
			t.Fatal(err)
		}
		i += n
		if between != nil {
			between(i)
		}
	}
}

func byID(t testing.TB, into map[string]string, recs []pipeline.Record, what string) {
	t.Helper()
	for _, r := range recs {
		if old, ok := into[r.ID]; ok && old != string(r.Value) {
			t.Fatalf("%s: _id %s written twice with different content:\n%s\n%s", what, r.ID, old, r.Value)
		}
		into[r.ID] = string(r.Value)
	}
}

// TestExactlyOnceAcrossCrash feeds lines in random batches, acks some
// outputs, "crashes" (drops the aggregator, keeping only what the tailer
// would have persisted: the contiguous offset and the state), restarts
// with Restore and replays from that offset. Whether the unacknowledged
// outputs of the first run reached the index or not, the documents deduped
// by _id equal those of an uninterrupted run.
func TestExactlyOnceAcrossCrash(t *testing.T) {
	cfg := testConfig()
	cfg.Levels = Levels{Allowed: 1, Denied: 1}
	cfg.MaxOpenKeys = 9 // force early flushes (parts)
	for seed := uint64(1); seed <= 80; seed++ {
		// Odd seeds: idle flushes, positions file as of the crash. Even
		// seeds: no idle flushes, positions file from any earlier moment.
		// (Idle flushes are wall-clock events; those after the last write
		// of the positions file are lost in a crash — see the package doc.)
		withIdle := seed%2 == 1
		idleAt := func(next int) bool { return withIdle && next%idleEvery == 0 }
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			lines := exactInput(t, rng)
			offs := make([]int64, len(lines))
			for i := 1; i < len(lines); i++ {
				offs[i] = offs[i-1] + int64(len(lines[i-1])+1)
			}
			idle := func(a *Aggregator) func(int) {
				return func(next int) {
					if idleAt(next) {
						a.idleNow(pipeline.KindFlow)
					}
				}
			}

			// The uninterrupted run. Idle flushes happen at fixed points of
			// the input in both runs (they are wall-clock driven in life).
			ref := newExactRun(t, cfg)
			ref.feed(t, rand.New(rand.NewPCG(seed, 1)), lines, offs, 0, len(lines), idle(ref.a))
			if err := ref.a.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			byID(t, want, ref.sink.ackSome(rng, 1), "reference")

			// The crashed run.
			crashAt := 1 + rng.IntN(len(lines)-1)
			first := newExactRun(t, cfg)
			var acked []pipeline.Record
			first.feed(t, rng, lines, offs, 0, crashAt, func(next int) {
				idle(first.a)(next)
				acked = append(acked, first.sink.ackSome(rng, 0.5)...)
			})
			// The positions file as last written: at the crash, or earlier
			// (it is written periodically), or between a state update and
			// the Acks behind it (the offset then lags the state).
			var last persisted
			if n := len(first.saved); n > 0 {
				last = first.saved[n-1]
			}
			last.resume, _ = first.cp.Highest()
			candidates := []persisted{last}
			if len(first.saved) > 0 && !withIdle {
				candidates = append(candidates, first.saved[rng.IntN(len(first.saved))])
			}
			for _, p := range candidates {
				for _, all := range []bool{true, false} {
					checkReplay(t, cfg, rng, lines, offs, first, acked, p, all, crashAt, want, idle)
				}
			}
		})
	}
}

// checkReplay restarts from p and checks the union of the first run's
// documents (all handed on, or only the acknowledged ones) and the
// replay's, deduped by _id, against want.
func checkReplay(t *testing.T, cfg Config, rng *rand.Rand, lines [][]byte, offs []int64, first *exactRun,
	acked []pipeline.Record, p persisted, all bool, crashAt int, want map[string]string, idle func(*Aggregator) func(int)) {
	t.Helper()
	got := map[string]string{}
	if all {
		byID(t, got, first.sink.docs, "first run")
	} else {
		byID(t, got, acked, "first run")
	}
	second := newExactRun(t, cfg)
	if err := second.a.Restore(pipeline.KindFlow, p.state); err != nil {
		t.Fatal(err)
	}
	// Idle flushes the first run did are replayed from the state; those
	// after the crash point happen as in the reference run.
	second.feed(t, rng, lines, offs, p.resume, len(lines), func(next int) {
		if next > crashAt {
			idle(second.a)(next)
		}
	})
	if err := second.a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	byID(t, got, second.sink.ackSome(rng, 1), "replay")
	if len(got) != len(want) {
		t.Errorf("all=%v crash at line %d, resume at %d: %d documents, want %d", all, crashAt, p.resume, len(got), len(want))
	}
	for id, v := range want {
		if got[id] != v {
			t.Fatalf("all=%v crash at line %d, resume at %d: document %s\ngot  %s\nwant %s", all, crashAt, p.resume, id, got[id], v)
		}
	}
}

// idleNow runs an idle flush of kind k regardless of the clock.
func (a *Aggregator) idleNow(k pipeline.Kind) {
	s := a.stream(k)
	s.mu.Lock()
	s.flushEvent(event{Type: evIdle})
	out := s.takeOut()
	s.mu.Unlock()
	s.send(context.Background(), out)
}
