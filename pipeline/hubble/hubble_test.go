package hubble

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
	"github.com/flowship/flowship/schema"
)

// One exporter file's lines: a flow, an L7 response, an L7 request (left
// out: its response makes the document), a lost-events record, an agent
// event, a bad line and a flow with an unknown verdict.
var lines = []string{
	`{"flow":{"time":"2023-08-21T12:12:18.510175415Z","verdict":"DROPPED","IP":{"source":"10.244.1.60","destination":"10.244.1.5","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":44916,"destination_port":80,"flags":{"SYN":true}}},"source":{"namespace":"default","pod_name":"xwing"},"destination":{"namespace":"default","pod_name":"deathstar-7848d6c4d5-th9v2"},"node_name":"kind-kind/kind-worker","drop_reason_desc":"POLICY_DENIED"},"node_name":"kind-kind/kind-worker","time":"2023-08-21T12:12:18.510175415Z"}`,
	`{"flow":{"time":"2025-06-10T08:03:11.523901552Z","verdict":"FORWARDED","IP":{"source":"10.42.7.9","destination":"10.42.3.17"},"l4":{"TCP":{"source_port":8080,"destination_port":51544}},"source":{"namespace":"shop","pod_name":"cart-api-5f8b7c9d6-q9w2e"},"destination":{"namespace":"shop","pod_name":"storefront-7d9c5b6f4-2xk8p"},"Type":"L7","l7":{"type":"RESPONSE","latency_ns":"5873122","http":{"code":200,"method":"GET","url":"http://cart-api/x","protocol":"HTTP/1.1"}},"is_reply":true},"node_name":"c/n"}`,
	`{"flow":{"time":"2025-06-10T08:03:11.5Z","verdict":"FORWARDED","Type":"L7","l7":{"type":"REQUEST","http":{"method":"GET","url":"http://cart-api/x"}}},"node_name":"c/n"}`,
	`{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"42"},"node_name":"c/n","time":"2025-06-10T08:03:12Z"}`,
	`{"agent_event":{},"node_name":"c/n","time":"2025-06-10T08:03:12Z"}`,
	`{"flow":`,
	`{"flow":{"time":"2025-06-10T08:03:11Z","verdict":"SOMETHING_NEW"}}`,
}

func batch() (pipeline.Batch, *int) {
	acks := 0
	b := pipeline.Batch{Ack: func(error) { acks++ }}
	for i, l := range lines {
		b.Records = append(b.Records, pipeline.Record{Kind: pipeline.KindFlow, Value: []byte(l), Source: "/var/run/cilium/hubble/events.log", Line: int64(i + 1), Offset: int64(i * 100)})
	}
	return b, &acks
}

func TestConverterKeepsItsKindAndCountsTheRest(t *testing.T) {
	var logs bytes.Buffer
	reader := sdkmetric.NewManualReader()
	tel := pipeline.NopTelemetry()
	tel.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	tel.Meter = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test")

	flowsSink, l7Sink := &pipelinetest.Sink{}, &pipelinetest.Sink{}
	flows, err := New(pipeline.KindFlow, true, tel, flowsSink)
	if err != nil {
		t.Fatal(err)
	}
	l7, err := New(pipeline.KindL7, false, tel, l7Sink)
	if err != nil {
		t.Fatal(err)
	}
	b1, acks1 := batch()
	b2, acks2 := batch()
	if err := flows.Consume(context.Background(), b1); err != nil {
		t.Fatal(err)
	}
	if err := l7.Consume(context.Background(), b2); err != nil {
		t.Fatal(err)
	}
	if *acks1 != 1 || *acks2 != 1 {
		t.Fatalf("acks %d %d, want one each", *acks1, *acks2)
	}
	fr, lr := flowsSink.Records(), l7Sink.Records()
	if len(fr) != 1 || fr[0].Kind != pipeline.KindFlow || fr[0].Line != 1 || fr[0].Offset != 0 {
		t.Fatalf("flows records %+v", fr)
	}
	var f schema.Flow
	if err := schema.ParseFlow(fr[0].Value, &f); err != nil || f.SourceName != "xwing" || f.Action != "deny" {
		t.Fatalf("flow line %s: %v %+v", fr[0].Value, err, f)
	}
	if len(lr) != 1 || lr[0].Kind != pipeline.KindL7 || lr[0].Line != 2 {
		t.Fatalf("l7 records %+v", lr)
	}
	var l schema.L7
	if err := schema.ParseL7(lr[0].Value, &l); err != nil || l.SrcNameAggr != "storefront-7d9c5b6f4-*" || l.ResponseCode != "200" {
		t.Fatalf("l7 line %s: %v %+v", lr[0].Value, err, l)
	}
	// Counted once (by the counting converter): 2 bad lines, 42 lost events,
	// 5 events (flow, l7, l7_skipped, lost_events, other).
	if got := counter(t, reader, "flowship_hubble_bad_lines_total"); got != 2 {
		t.Errorf("bad lines = %d, want 2", got)
	}
	if got := counter(t, reader, "flowship_hubble_lost_events_total"); got != 42 {
		t.Errorf("lost events = %d, want 42", got)
	}
	if got := counter(t, reader, "flowship_hubble_events_total"); got != 5 {
		t.Errorf("events = %d, want 5", got)
	}
	for _, want := range []string{"line=6", "line=7", "SOMETHING_NEW", "source=PERF_EVENT_RING_BUFFER", "num_events_lost=42", "file=/var/run/cilium/hubble/events.log"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestConverterHandsBackErrors(t *testing.T) {
	sink := &pipelinetest.Sink{Err: context.Canceled}
	c, err := New(pipeline.KindFlow, true, pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	b, acks := batch()
	if err := c.Consume(context.Background(), b); err != context.Canceled {
		t.Fatalf("err = %v", err)
	}
	if *acks != 0 {
		t.Fatal("ack called although the batch stayed with the caller")
	}
}

func counter(t *testing.T, r *sdkmetric.ManualReader, name string) int64 {
	t.Helper()
	return pipelinetest.MetricSum(t, r, name)
}
