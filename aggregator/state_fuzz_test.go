package aggregator

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

// FuzzRestoreState feeds arbitrary bytes to the replay-state decoding (the
// state saved in the positions file, which a crash, a full disk or a hand
// edit can leave in any shape). Whatever it is: no panic; a state that is
// refused is refused with an error; a state that is accepted lets the
// aggregator consume, flush and save its state again, and that state is
// accepted in turn.
func FuzzRestoreState(f *testing.F) {
	for _, s := range fuzzStateSeeds(f) {
		f.Add(s)
	}
	for _, s := range []string{
		``, `null`, `{}`, `{"version":1}`, `{"version":2}`, `[]`, `{"version":1,"pos":null}`,
		`{"version":1,"pos":{"source":"f.log","offset":-5},"watermark":-9223372036854775808}`,
		`{"version":1,"open":[{"bucket":1749542400,"part":-1,"deadline":0}],"flushed":[[1749542400,-3]],"acked":[[1749542400,-1]]}`,
		`{"version":1,"events":[{"pos":{"source":"f.log","offset":0},"type":"bogus","until":-1}]}`,
		`{"version":1,"watermark":9223372036854775807,"open":[{"bucket":9223372036854775807,"part":9223372036854775807,"deadline":1}]}`,
	} {
		f.Add([]byte(s))
	}
	lines := [][]byte{
		[]byte(baseFlow),
		line(f, baseFlow, map[string]any{"start_time": 1749542697, "end_time": 1749542997}),
		line(f, baseFlow, map[string]any{"start_time": 1749543297, "end_time": 1749543597, "source_port": 40002}),
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, err := decodeState(raw); err != nil {
			return
		}
		cfg := testConfig()
		cfg.MaxFuture = 0
		a, err := New(cfg, pipeline.NopTelemetry(), &pipelinetest.Sink{})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Restore(pipeline.KindFlow, raw); err != nil {
			return
		}
		recs := make([]pipeline.Record, len(lines))
		for i, l := range lines {
			recs[i] = pipeline.Record{Kind: pipeline.KindFlow, Value: l, Source: "f.log", Offset: int64(i * 100), Line: int64(i + 1)}
		}
		if err := a.Consume(context.Background(), pipeline.Batch{Records: recs, Ack: pipeline.Nop}); err != nil {
			t.Fatal(err)
		}
		if err := a.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		again := a.State(pipeline.KindFlow)
		if _, err := decodeState(again); err != nil {
			t.Fatalf("state %s saved after restoring %q does not decode: %v", again, raw, err)
		}
		b, err := New(cfg, pipeline.NopTelemetry(), &pipelinetest.Sink{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Restore(pipeline.KindFlow, again); err != nil {
			t.Fatalf("state %s saved after restoring %q is refused: %v", again, raw, err)
		}
	})
}

// fuzzStateSeeds returns real states: those pushed by a run with idle
// flushes, a key limit and acknowledgements held back.
func fuzzStateSeeds(f *testing.F) [][]byte {
	cfg := testConfig()
	cfg.MaxFuture = 0
	cfg.MaxOpenKeys = 2
	sink := &pipelinetest.Sink{Hold: true}
	a, err := New(cfg, pipeline.NopTelemetry(), sink)
	if err != nil {
		f.Fatal(err)
	}
	var states [][]byte
	a.OnState(pipeline.KindFlow, func(s json.RawMessage) { states = append(states, append([]byte(nil), s...)) })
	for i := range 6 {
		l := line(f, baseFlow, map[string]any{"start_time": 1749542400 + int64(i)*200, "end_time": 1749542697 + int64(i)*200, "source_port": 40000 + i%3})
		if err := a.Consume(context.Background(), pipeline.Batch{
			Records: []pipeline.Record{{Kind: pipeline.KindFlow, Value: l, Source: "f.log", Offset: int64(i * 1000), Line: int64(i + 1)}},
			Ack:     pipeline.Nop,
		}); err != nil {
			f.Fatal(err)
		}
		if i == 3 {
			a.idleNow(pipeline.KindFlow)
		}
		if i%2 == 1 {
			sink.AckAll(nil)
		}
	}
	states = append(states, a.State(pipeline.KindFlow))
	return states
}

// TestRestoreRefusesDamagedState: values no aggregator writes are refused
// with an error naming them, instead of numbering parts differently.
func TestRestoreRefusesDamagedState(t *testing.T) {
	for _, tc := range []struct{ state, want string }{
		{`{"version":1,"pos":{"source":"f.log","offset":-5}}`, "pos.offset -5"},
		{`{"version":1,"open":[{"bucket":1749542400,"part":-1,"deadline":0}]}`, "index -1"},
		{`{"version":1,"flushed":[[1749542400,-3]]}`, "flushed count of bucket 1749542400 is -3"},
		{`{"version":1,"acked":[[1749542400,-1]]}`, "acknowledged part"},
		{`{"version":1,"events":[{"pos":{"source":"f.log","offset":0},"type":"bogus"}]}`, `"bogus"`},
		{`{"version":2}`, "version 2"},
		{`{"version":1,`, "aggregator state"},
	} {
		a, err := New(testConfig(), pipeline.NopTelemetry(), &pipelinetest.Sink{})
		if err != nil {
			t.Fatal(err)
		}
		err = a.Restore(pipeline.KindFlow, json.RawMessage(tc.state))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Restore(%s) = %v, want an error containing %q", tc.state, err, tc.want)
		}
	}
}
