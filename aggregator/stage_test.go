package aggregator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBadLinesAreCountedDeadLetteredAndAcked(t *testing.T) {
	cfg := testConfig()
	cfg.DeadLetterLog = filepath.Join(t.TempDir(), "dead.jsonl")
	sink := &pipelinetest.Sink{}
	a, err := New(cfg, pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	var rec ackRecorder
	consume(t, a, pipeline.KindFlow, rec.ack(0),
		[]byte(baseFlow), []byte(`{"start_time":1,`), []byte(`{"start_time":"x"}`), []byte(`not json`))
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, err := rec.get(0); err != nil || n != 1 {
		t.Fatalf("input ack called %d times with %v, want once with nil", n, err)
	}
	if st := a.Stats(pipeline.KindFlow); st.Lines != 4 || st.Bad != 3 || st.Documents != 1 {
		t.Errorf("stats = %+v, want 4 lines, 3 bad, 1 document", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Run(ctx); err != nil { // closes the dead-letter log
		t.Fatal(err)
	}
	raw, err := os.ReadFile(cfg.DeadLetterLog)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	if len(lines) != 3 {
		t.Fatalf("dead-letter log has %d lines, want 3:\n%s", len(lines), raw)
	}
	var e pipeline.DeadLetterEntry
	if err := json.Unmarshal(lines[1], &e); err != nil {
		t.Fatal(err)
	}
	if e.Kind != pipeline.KindFlow || e.File != "f.log" || e.Line != 3 || e.Raw != `{"start_time":"x"}` || e.Error == "" {
		t.Errorf("dead-letter entry %+v", e)
	}
}

func TestUnknownKindIsAcknowledged(t *testing.T) {
	a, err := New(testConfig(), pipeline.NopTelemetry(), &pipelinetest.Sink{})
	if err != nil {
		t.Fatal(err)
	}
	var rec ackRecorder
	consume(t, a, "waf", rec.ack(0), []byte(`{}`))
	if n, err := rec.get(0); err != nil || n != 1 {
		t.Fatalf("ack called %d times with %v", n, err)
	}
}

func TestMixedKindBatchAckedWhenAllDelivered(t *testing.T) {
	sink := &pipelinetest.Sink{Hold: true}
	a, err := New(testConfig(), pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	var rec ackRecorder
	recs := []pipeline.Record{
		{Kind: pipeline.KindFlow, Value: []byte(baseFlow), Source: "f", Offset: 0},
		{Kind: pipeline.KindDNS, Value: []byte(baseDNS), Source: "d", Offset: 0},
	}
	if err := a.Consume(context.Background(), pipeline.Batch{Records: recs, Ack: rec.ack(0)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := rec.get(0); n != 0 {
		t.Fatal("input acked before its documents")
	}
	if n := sink.AckAll(nil); n != 2 {
		t.Fatalf("%d output batches, want 2 (one per kind)", n)
	}
	if n, err := rec.get(0); err != nil || n != 1 {
		t.Fatalf("ack called %d times with %v", n, err)
	}
}

func TestOutputFailureFailsInput(t *testing.T) {
	sink := &pipelinetest.Sink{AckErr: errors.New("kafka down")}
	a, err := New(testConfig(), pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	var rec ackRecorder
	consume(t, a, pipeline.KindFlow, rec.ack(0), []byte(baseFlow))
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, err := rec.get(0); n != 1 || err == nil || !strings.Contains(err.Error(), "kafka down") {
		t.Fatalf("ack called %d times with %v, want the output error", n, err)
	}
}

// On shutdown open buckets are not flushed; their lines are failed so the
// tailer replays them.
func TestShutdownFailsOpenBuckets(t *testing.T) {
	sink := &pipelinetest.Sink{}
	a, err := New(testConfig(), pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	var rec ackRecorder
	consume(t, a, pipeline.KindFlow, rec.ack(0), []byte(baseFlow))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, err := rec.get(0); n != 1 || !errors.Is(err, errShutdown) {
		t.Fatalf("ack called %d times with %v, want errShutdown", n, err)
	}
	if len(sink.Records()) != 0 {
		t.Error("open bucket flushed at shutdown")
	}
	if err := a.Consume(context.Background(), pipeline.Batch{Ack: pipeline.Nop}); err == nil {
		t.Error("Consume after Run ended accepted a batch")
	}
}

func TestWatermarkFlushAndLateLines(t *testing.T) {
	sink := &pipelinetest.Sink{}
	a, err := New(testConfig(), pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	at := func(end int64, port int) []byte {
		return line(t, baseFlow, map[string]any{"start_time": end - 300, "end_time": end, "source_port": port})
	}
	var rec ackRecorder
	consume(t, a, pipeline.KindFlow, rec.ack(0), at(1749542697, 1)) // bucket ...2400
	consume(t, a, pipeline.KindFlow, rec.ack(1), at(1749542997, 2)) // next bucket; lateness not passed
	if len(sink.Records()) != 0 {
		t.Fatal("bucket flushed before the watermark passed end + allowed_lateness")
	}
	consume(t, a, pipeline.KindFlow, rec.ack(2), at(1749543299, 3)) // first bucket: 2700+300 reached
	first := sink.Records()
	if len(first) != 1 || num(t, decode(t, first[0].Value)["flowship"].(map[string]any), "bucket_start") != 1749542400 {
		t.Fatalf("after the watermark passed: %d documents, want the first bucket", len(first))
	}
	if n, _ := rec.get(0); n != 1 {
		t.Error("input of the flushed bucket not acked")
	}
	consume(t, a, pipeline.KindFlow, rec.ack(3), at(1749542690, 1)) // late: first bucket, new part
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var late *pipeline.Record
	for _, r := range sink.Records() {
		if r.Time.Unix() == 1749542400 && r.ID != first[0].ID {
			late = &r
		}
	}
	if late == nil || !bytes.Equal(late.Key, first[0].Key) {
		t.Fatalf("late line not emitted as a new part of its bucket: %v", sink.Records())
	}
}

func TestMaxOpenKeysFlushesEarly(t *testing.T) {
	cfg := testConfig()
	cfg.MaxOpenKeys = 2
	cfg.Levels = Levels{0, 0}
	sink := &pipelinetest.Sink{}
	a, err := New(cfg, pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	var rec ackRecorder
	for i := 0; i < 5; i++ {
		consume(t, a, pipeline.KindFlow, rec.ack(i), line(t, baseFlow, map[string]any{"source_port": i % 3}))
	}
	if n := len(sink.Records()); n != 4 {
		t.Fatalf("%d documents after 5 lines with a limit of 2 keys, want 4 (two early flushes)", n)
	}
	ids := map[string]bool{}
	for _, r := range sink.Records() {
		if ids[r.ID] {
			t.Errorf("_id %s reused by a later part", r.ID)
		}
		ids[r.ID] = true
	}
}

func TestIdleFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.IdleFlush = 30 * time.Second
		// 2025 lines in a bubble whose clock is in 2000: no future bound.
		cfg.MaxFuture = 0
		sink := &pipelinetest.Sink{}
		a, err := New(cfg, pipeline.NopTelemetry(), sink)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- a.Run(ctx) }()
		var rec ackRecorder
		consume(t, a, pipeline.KindFlow, rec.ack(0), line(t, baseFlow, map[string]any{"end_time": 1749542697}))
		consume(t, a, pipeline.KindFlow, rec.ack(1), line(t, baseFlow, map[string]any{"start_time": 1749542697, "end_time": 1749542997}))
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if len(sink.Records()) != 0 {
			t.Fatal("flushed before idle_flush")
		}
		time.Sleep(15 * time.Second)
		synctest.Wait()
		recs := sink.Records()
		if len(recs) != 1 || recs[0].Time.Unix() != 1749542400 {
			t.Fatalf("after idle: %d documents, want only the complete bucket", len(recs))
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := rec.get(1); !errors.Is(err, errShutdown) {
			t.Errorf("open bucket's input acked with %v, want errShutdown", err)
		}
	})
}

func TestRestoreRejectsBadState(t *testing.T) {
	a, err := New(testConfig(), pipeline.NopTelemetry(), &pipelinetest.Sink{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Restore(pipeline.KindFlow, json.RawMessage(`{"version":99}`)); err == nil {
		t.Error("state of an unknown version accepted")
	}
	if err := a.Restore(pipeline.KindFlow, json.RawMessage(`[`)); err == nil {
		t.Error("malformed state accepted")
	}
	if err := a.Restore(pipeline.KindFlow, nil); err != nil {
		t.Errorf("empty state: %v", err)
	}
	if s := a.State(pipeline.KindFlow); !json.Valid(s) {
		t.Errorf("State = %s", s)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // substring of the error; "" = valid
	}{
		{"defaults", `{cluster: c, node: n}`, ""},
		{"no cluster", `{node: n}`, "aggregator.cluster"},
		{"no node", `{cluster: c}`, "aggregator.node"},
		{"bad level", `{cluster: c, node: n, levels: {allowed: 4}}`, "aggregator.levels.allowed"},
		{"bad denied level", `{cluster: c, node: n, levels: {denied: -1}}`, "aggregator.levels.denied"},
		{"window not dividing a day", `{cluster: c, node: n, window: 7m}`, "aggregator.window"},
		{"negative lateness", `{cluster: c, node: n, allowed_lateness: -1s}`, "aggregator.allowed_lateness"},
		{"zero keys", `{cluster: c, node: n, max_open_keys: 0}`, "aggregator.max_open_keys"},
		{"bad dns level", `{cluster: c, node: n, dns_level: 2}`, "aggregator.dns_level"},
		{"bad L7 knob", `{cluster: c, node: n, l7: {trim_url: TrimEverything}}`, "aggregator.l7.trim_url"},
		{"bad extra key", `{cluster: c, node: n, extra_key_fields: {flows: [nope]}}`, "aggregator.extra_key_fields.flows[0]"},
		{"bad filter", `{cluster: c, node: n, filters: [{name: f, kind: flows, action: exclude, match: {field: x, equals: y}}]}`, "aggregator.filters[0] (f)"},
		{"all knobs", `{cluster: c, node: n, window: 1m, allowed_lateness: 0s, idle_flush: 0s, group_by_policy: false,
			l7: {header_info: IncludeL7HTTPHeaderInfo, source_info: ExcludeL7SourceInfo, num_url_path: -1}}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			dec := yaml.NewDecoder(strings.NewReader(tc.yaml))
			dec.KnownFields(true)
			if err := dec.Decode(&c); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	if _, err := New(Config{}, pipeline.NopTelemetry(), &pipelinetest.Sink{}); err == nil {
		t.Error("New accepted an invalid config")
	}
}

func FuzzConsume(f *testing.F) {
	f.Add([]byte(baseFlow), []byte(baseL7), []byte(baseDNS))
	f.Add([]byte(`{"start_time":-5,"end_time":9223372036854775807}`), []byte(`{}`), []byte(`null`))
	f.Fuzz(func(t *testing.T, fl, l7, dns []byte) {
		sink := &pipelinetest.Sink{}
		a, err := New(testConfig(), pipeline.NopTelemetry(), sink)
		if err != nil {
			t.Fatal(err)
		}
		var rec ackRecorder
		for i, k := range []pipeline.Kind{pipeline.KindFlow, pipeline.KindL7, pipeline.KindDNS} {
			consume(t, a, k, rec.ack(i), [][]byte{fl, l7, dns}[i])
		}
		if err := a.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if n, err := rec.get(i); n != 1 || err != nil {
				t.Fatalf("batch %d acked %d times with %v", i, n, err)
			}
		}
		for _, r := range sink.Records() {
			if !json.Valid(r.Value) {
				t.Fatalf("invalid document %s", r.Value)
			}
		}
	})
}

// TestIdleFlushClosesBucketsEndedByWallClock: once the input is quiet for
// idle_flush, a bucket that ended at least idle_flush ago by the wall clock
// is complete (Felix stamps end_time when it writes), so even the newest
// bucket is flushed, not only those behind the watermark.
func TestIdleFlushClosesBucketsEndedByWallClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// synctest's clock starts at 2000-01-01T00:00:00Z (946684800).
		cfg := testConfig()
		cfg.IdleFlush = 30 * time.Second
		sink := &pipelinetest.Sink{}
		a, err := New(cfg, pipeline.NopTelemetry(), sink)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- a.Run(ctx) }()
		var rec ackRecorder
		// Two buckets (floor(end_time/5m)) that both ended before the wall
		// clock: [23:50,23:55) and [23:55,00:00).
		consume(t, a, pipeline.KindFlow, rec.ack(0), line(t, baseFlow, map[string]any{"start_time": 946683900, "end_time": 946684200}))
		consume(t, a, pipeline.KindFlow, rec.ack(1), line(t, baseFlow, map[string]any{"start_time": 946684200, "end_time": 946684500}))
		// A bucket that ends in the wall clock's future stays open: [00:05,00:10).
		consume(t, a, pipeline.KindFlow, rec.ack(2), line(t, baseFlow, map[string]any{"start_time": 946685000, "end_time": 946685100}))
		time.Sleep(35 * time.Second)
		synctest.Wait()
		var got []int64
		for _, r := range sink.Records() {
			got = append(got, r.Time.Unix())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != 946684200 || got[1] != 946684500 {
			t.Fatalf("after idle flushed buckets %v, want [946684200 946684500] (both ended by the wall clock; the future one stays open)", got)
		}
		if _, err := rec.get(1); err != nil {
			t.Errorf("flushed bucket's input acked with %v", err)
		}
		if _, err := rec.get(2); !errors.Is(err, errShutdown) {
			t.Errorf("open bucket's input acked with %v, want errShutdown", err)
		}
	})
}
