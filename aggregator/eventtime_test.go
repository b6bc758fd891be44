package aggregator

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

// TestFarFutureLineDoesNotPinItsBatch: a line whose end_time is years
// ahead used to open a bucket that never flushes, so the input batch it
// came in was never acknowledged (its file's position pinned forever,
// every restart re-reading and re-producing the rest of the file). It is
// now refused by the sanity window and the batch is acknowledged once its
// other lines' bucket is.
func TestFarFutureLineDoesNotPinItsBatch(t *testing.T) {
	now := time.Now().Unix()
	sink := &pipelinetest.Sink{}
	a, err := New(testConfig(), pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	var rec ackRecorder
	consume(t, a, pipeline.KindFlow, rec.ack(0),
		line(t, baseFlow, map[string]any{"start_time": now - 1500, "end_time": now - 1200}),
		line(t, baseFlow, map[string]any{"start_time": now + 10*365*86400, "end_time": now + 10*365*86400 + 300}))
	// A later line moves the watermark past the first bucket's deadline.
	consume(t, a, pipeline.KindFlow, rec.ack(1), line(t, baseFlow, map[string]any{"start_time": now - 300, "end_time": now - 1}))
	if n, err := rec.get(0); n != 1 || err != nil {
		t.Fatalf("batch with a far-future line: acked %d times (err %v), want once with nil", n, err)
	}
	for _, r := range sink.Records() {
		if r.Time.Unix() > now+86400 {
			t.Errorf("document of bucket %s emitted for the far-future line", r.Time.UTC())
		}
	}
}

// fixedNow is the clock of the window tests: 2025-06-10T12:00:00Z.
var fixedNow = time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)

func TestEventTimeWindowRejects(t *testing.T) {
	now := fixedNow.Unix()
	day := now - 12*3600 // 2025-06-10T00:00:00Z
	dnsTime := func(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339Nano) }
	tests := []struct {
		name   string
		kind   pipeline.Kind
		line   func(t *testing.T) []byte
		reason string // "" = accepted
	}{
		{"flow end_time 0", pipeline.KindFlow, func(t *testing.T) []byte {
			return line(t, baseFlow, map[string]any{"start_time": 0, "end_time": 0})
		}, RejectEndTimeZero},
		{"flow end before start", pipeline.KindFlow, func(t *testing.T) []byte {
			return line(t, baseFlow, map[string]any{"start_time": now - 100, "end_time": now - 200})
		}, RejectEndBeforeStart},
		{"flow 1s past max_future", pipeline.KindFlow, func(t *testing.T) []byte {
			return line(t, baseFlow, map[string]any{"start_time": now, "end_time": now + 15*60 + 1})
		}, RejectFuture},
		{"flow exactly max_future ahead", pipeline.KindFlow, func(t *testing.T) []byte {
			return line(t, baseFlow, map[string]any{"start_time": now, "end_time": now + 15*60})
		}, ""},
		// max_age flows 48h: the day 2025-06-08 started exactly 48h before
		// 06-10 00:00, more than 48h before now: its index is expired.
		{"flow on the expired day", pipeline.KindFlow, func(t *testing.T) []byte {
			return line(t, baseFlow, map[string]any{"start_time": day - 2*86400, "end_time": day - 86400 - 1})
		}, RejectTooOld},
		{"flow on the oldest kept day", pipeline.KindFlow, func(t *testing.T) []byte {
			return line(t, baseFlow, map[string]any{"start_time": day - 86400, "end_time": day - 86400})
		}, ""},
		{"l7 end_time 0", pipeline.KindL7, func(t *testing.T) []byte {
			return line(t, baseL7, map[string]any{"start_time": 0, "end_time": 0})
		}, RejectEndTimeZero},
		// max_age l7 24h: yesterday's index is expired at today 00:00.
		{"l7 yesterday", pipeline.KindL7, func(t *testing.T) []byte {
			return line(t, baseL7, map[string]any{"start_time": day - 300, "end_time": day - 1})
		}, RejectTooOld},
		{"l7 today", pipeline.KindL7, func(t *testing.T) []byte {
			return line(t, baseL7, map[string]any{"start_time": day, "end_time": day + 1})
		}, ""},
		{"dns end before start", pipeline.KindDNS, func(t *testing.T) []byte {
			return line(t, baseDNS, map[string]any{"start_time": dnsTime(now - 10), "end_time": dnsTime(now - 20)})
		}, RejectEndBeforeStart},
		{"dns far future", pipeline.KindDNS, func(t *testing.T) []byte {
			return line(t, baseDNS, map[string]any{"start_time": dnsTime(now), "end_time": dnsTime(now + 86400)})
		}, RejectFuture},
		{"dns 1970", pipeline.KindDNS, func(t *testing.T) []byte {
			return line(t, baseDNS, map[string]any{"start_time": dnsTime(0), "end_time": dnsTime(0)})
		}, RejectEndTimeZero},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dlq := filepath.Join(t.TempDir(), "dead.jsonl")
			cfg := testConfig()
			cfg.Now = func() time.Time { return fixedNow }
			cfg.MaxAge = MaxAge{Flows: 48 * time.Hour, L7: 24 * time.Hour, DNS: 48 * time.Hour}
			cfg.DeadLetterLog = dlq
			reader := sdkmetric.NewManualReader()
			tel := pipeline.NopTelemetry()
			tel.Meter = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test")
			sink := &pipelinetest.Sink{}
			a, err := New(cfg, tel, sink)
			if err != nil {
				t.Fatal(err)
			}
			var rec ackRecorder
			consume(t, a, tc.kind, rec.ack(0), tc.line(t))
			if err := a.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			st := a.Stats(tc.kind)
			entries := readDeadLetter(t, dlq)
			docs := len(sink.Records())
			if n, err := rec.get(0); n != 1 || err != nil {
				t.Errorf("acked %d times (err %v), want once with nil", n, err)
			}
			if tc.reason == "" {
				if st.Rejected != 0 || docs != 1 || len(entries) != 0 {
					t.Fatalf("accepted line: rejected %d, documents %d, dead letters %d; want 0, 1, 0", st.Rejected, docs, len(entries))
				}
				return
			}
			if st.Rejected != 1 || docs != 0 {
				t.Fatalf("rejected %d, documents %d; want 1, 0", st.Rejected, docs)
			}
			if len(entries) != 1 || entries[0].Reason != tc.reason || entries[0].Kind != tc.kind || entries[0].Raw == "" || entries[0].Error == "" {
				t.Fatalf("dead-letter log %+v, want one %s entry of kind %s with the raw line and an error", entries, tc.reason, tc.kind)
			}
			if got := pipelinetest.MetricSum(t, reader, "flowship_aggregator_rejected_lines_total", attribute.String("kind", string(tc.kind)), attribute.String("reason", tc.reason)); got != 1 {
				t.Errorf("rejected_lines_total{kind=%s,reason=%s} = %d, want 1", tc.kind, tc.reason, got)
			}
			if got := pipelinetest.MetricSum(t, reader, "flowship_aggregator_lines_total", attribute.String("kind", string(tc.kind)), attribute.String("result", "rejected")); got != 1 {
				t.Errorf("lines_total{result=rejected} = %d, want 1", got)
			}
		})
	}
}

// TestRejectedLineDoesNotMoveWatermark: a refused line must not flush the
// buckets of the lines around it (a far-future watermark flushed every
// open bucket at once, splitting them into parts).
func TestRejectedLineDoesNotMoveWatermark(t *testing.T) {
	now := fixedNow.Unix()
	cfg := testConfig()
	cfg.Now = func() time.Time { return fixedNow }
	sink := &pipelinetest.Sink{}
	a, err := New(cfg, pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	var rec ackRecorder
	consume(t, a, pipeline.KindFlow, rec.ack(0),
		line(t, baseFlow, map[string]any{"start_time": now - 300, "end_time": now - 10}),
		line(t, baseFlow, map[string]any{"start_time": now, "end_time": now + 86400}),
		line(t, baseFlow, map[string]any{"start_time": now - 300, "end_time": now - 5}))
	if n := len(sink.Records()); n != 0 {
		t.Fatalf("%d documents before Flush: the refused line moved the watermark", n)
	}
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := sink.Records()
	if len(recs) != 1 {
		t.Fatalf("%d documents, want the two accepted lines in one", len(recs))
	}
	if d := decode(t, recs[0].Value); num(t, d, "bytes_in") != 1000 {
		t.Errorf("bytes_in = %d, want 1000 (two lines of 500)", num(t, d, "bytes_in"))
	}
}

func TestEventTimeConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"negative max_future", func(c *Config) { c.MaxFuture = -time.Second }, "aggregator.max_future"},
		{"max_age not whole days", func(c *Config) { c.MaxAge.L7 = 36 * time.Hour }, "aggregator.max_age.l7"},
		{"negative max_age", func(c *Config) { c.MaxAge.DNS = -24 * time.Hour }, "aggregator.max_age.dns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	c := testConfig()
	c.MaxAge = MaxAge{Flows: 8 * 24 * time.Hour}
	c.MaxFuture = 0
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v for whole days and max_future 0", err)
	}
}

func readDeadLetter(t *testing.T, path string) []pipeline.DeadLetterEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []pipeline.DeadLetterEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e pipeline.DeadLetterEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("dead-letter line %s: %v", sc.Bytes(), err)
		}
		out = append(out, e)
	}
	return out
}
