package kafka

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
)

const contractDoc = "../../docs/kafka-contract.md"

// docTable returns the first-column names (without backticks) and the
// second column of the table that follows marker in the doc.
func docTable(t *testing.T, doc, marker string) (names, second []string) {
	t.Helper()
	i := strings.Index(doc, "<!-- "+marker+" -->")
	if i < 0 {
		t.Fatalf("%s: no <!-- %s --> marker", contractDoc, marker)
	}
	lines := strings.Split(doc[i:], "\n")[1:]
	for n, line := range lines {
		if !strings.HasPrefix(line, "|") {
			break
		}
		if n < 2 { // header and separator rows
			continue
		}
		cells := strings.Split(line, "|")
		names = append(names, strings.Trim(strings.TrimSpace(cells[1]), "`"))
		second = append(second, strings.Trim(strings.TrimSpace(cells[2]), "`"))
	}
	if len(names) == 0 {
		t.Fatalf("%s: empty table after %s", contractDoc, marker)
	}
	return names, second
}

func TestContractDocMatchesCode(t *testing.T) {
	raw, err := os.ReadFile(contractDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	if got, _ := docTable(t, doc, "table:record-headers"); !slices.Equal(got, RecordHeaders) {
		t.Errorf("record headers in the doc = %v, code = %v", got, RecordHeaders)
	}
	if got, _ := docTable(t, doc, "table:dlq-headers"); !slices.Equal(got, DeadLetterHeaders) {
		t.Errorf("dead-letter headers in the doc = %v, code = %v", got, DeadLetterHeaders)
	}
	kinds, topics := docTable(t, doc, "table:topics")
	def := DefaultTopics()
	want := map[string]string{"dead_letter": def.DeadLetter}
	for _, k := range pipeline.Kinds {
		want[string(k)] = def.For(k)
	}
	if len(kinds) != len(want) {
		t.Errorf("topics table has kinds %v, want %d rows", kinds, len(want))
	}
	for i, k := range kinds {
		if want[k] != topics[i] {
			t.Errorf("doc says kind %q defaults to topic %q, code says %q", k, topics[i], want[k])
		}
	}
	if v := fmt.Sprintf("Current schema version: **%d**.", schema.Version); !strings.Contains(doc, v) {
		t.Errorf("doc does not state %q", v)
	}
}

func TestContractRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  pipeline.Record
	}{
		{"flow", doc(pipeline.KindFlow, "ns/a|ns/b|tcp|80", 1, `{"bytes_in":1}`)},
		{"l7 without node", pipeline.Record{Kind: pipeline.KindL7, Key: []byte("k"), ID: "id-1",
			Time: time.Unix(1700000000, 0), Value: []byte(`{}`)}},
		{"dns with nanoseconds and binary key", pipeline.Record{Kind: pipeline.KindDNS, Key: []byte{0, 0xff, '|'},
			ID: "x", Time: time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("CET", 3600)), Value: []byte(`{"qname":"a."}`), Node: "n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ToMessage(tc.rec, "topic-a")
			m.Partition, m.Offset = 4, 99
			got, err := FromMessage(m)
			if err != nil {
				t.Fatal(err)
			}
			r := tc.rec
			if got.Kind != r.Kind || got.ID != r.ID || got.Node != r.Node || !got.Time.Equal(r.Time) ||
				!bytes.Equal(got.Key, r.Key) || !bytes.Equal(got.Value, r.Value) {
				t.Errorf("round trip = %+v, want %+v", got, r)
			}
			if got.Source != "topic-a/4" || got.Offset != 99 {
				t.Errorf("Source, Offset = %q, %d; want topic-a/4, 99", got.Source, got.Offset)
			}
			if m.Topic != "topic-a" {
				t.Errorf("topic = %q", m.Topic)
			}
		})
	}
}

// withHeader returns a valid message with header h set to v, or removed when v is nil.
func withHeader(h string, v []byte) kafkago.Message {
	m := ToMessage(doc(pipeline.KindFlow, "k", 1, "{}"), "t")
	var hs []kafkago.Header
	for _, x := range m.Headers {
		if x.Key != h {
			hs = append(hs, x)
		}
	}
	if v != nil {
		hs = append(hs, kafkago.Header{Key: h, Value: v})
	}
	m.Headers = hs
	return m
}

func TestFromMessageRejectsBrokenContract(t *testing.T) {
	tests := []struct {
		name   string
		header string
		value  []byte // nil removes the header
	}{
		{"no kind", HeaderKind, nil},
		{"no id", HeaderID, nil},
		{"no schema", HeaderSchema, nil},
		{"no node", HeaderNode, nil},
		{"no time", HeaderTime, nil},
		{"unknown kind", HeaderKind, []byte("hubble")},
		{"empty id", HeaderID, []byte{}},
		{"schema not a number", HeaderSchema, []byte("v1")},
		{"schema zero", HeaderSchema, []byte("0")},
		{"schema too new", HeaderSchema, fmt.Appendf(nil, "%d", schema.Version+1)},
		{"time not RFC 3339", HeaderTime, []byte("1700000000000")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromMessage(withHeader(tc.header, tc.value))
			var me *MessageError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want a *MessageError", err)
			}
			if me.Header != tc.header || !strings.Contains(err.Error(), tc.header) {
				t.Errorf("error %q names header %q, want %q", err, me.Header, tc.header)
			}
		})
	}
}

func FuzzFromMessage(f *testing.F) {
	f.Add([]byte("flows"), []byte("id"), []byte("1"), []byte("node"), []byte("2025-03-01T10:15:00Z"), []byte("k"))
	f.Add([]byte("dns"), []byte(""), []byte("-1"), []byte(""), []byte("x"), []byte(nil))
	f.Fuzz(func(t *testing.T, kind, id, ver, node, ts, key []byte) {
		m := kafkago.Message{Topic: "t", Key: key, Value: []byte("{}"), Headers: []kafkago.Header{
			{Key: HeaderKind, Value: kind}, {Key: HeaderID, Value: id}, {Key: HeaderSchema, Value: ver},
			{Key: HeaderNode, Value: node}, {Key: HeaderTime, Value: ts},
		}}
		rec, err := FromMessage(m)
		if err != nil {
			return
		}
		back, err := FromMessage(ToMessage(rec, "t"))
		if err != nil {
			t.Fatalf("a record FromMessage accepted does not round trip: %v", err)
		}
		if back.ID != rec.ID || back.Kind != rec.Kind || back.Node != rec.Node || !back.Time.Equal(rec.Time) {
			t.Fatalf("round trip changed the record: %+v → %+v", rec, back)
		}
	})
}

func TestDeadLetterRoundTrip(t *testing.T) {
	rec := doc(pipeline.KindL7, "k", 3, `{"url":"/"}`)
	rec.Source, rec.Offset = "flowship.l7/2", 77
	at := time.Date(2025, 3, 1, 10, 16, 2, 5e8, time.UTC)
	dl := DeadLetter{Record: rec, Reason: "mapper_parsing_exception: boom", Status: 400, Index: "flowship-l7-c-2025.03.01", Time: at}
	got, err := ParseDeadLetter(dl.Message(DefaultTopicDeadLetter))
	if err != nil {
		t.Fatal(err)
	}
	if got.Reason != dl.Reason || got.Status != 400 || got.Index != dl.Index || !got.Time.Equal(at) {
		t.Errorf("dead letter = %+v, want %+v", got, dl)
	}
	if got.Record.Source != "flowship.l7/2" || got.Record.Offset != 77 || got.Record.ID != rec.ID {
		t.Errorf("record source = %q@%d id %q", got.Record.Source, got.Record.Offset, got.Record.ID)
	}
	noSource := DeadLetter{Record: doc(pipeline.KindDNS, "k", 1, "{}"), Reason: "r"}
	got, err = ParseDeadLetter(noSource.Message("dlq"))
	if err != nil || got.Record.Source != "" || got.Record.Offset != -1 {
		t.Errorf("without a source: %+v, %v; want empty source, offset -1", got.Record, err)
	}
	if _, err := ParseDeadLetter(ToMessage(rec, "t")); err == nil {
		t.Error("a plain record message parsed as a dead letter")
	}
}

func BenchmarkToMessage(b *testing.B) {
	r := doc(pipeline.KindFlow, "ns-a/pod-*|ns-b/svc|tcp|443|allow|src", 1, `{"bytes_in":1024,"bytes_out":2048}`)
	b.ReportAllocs()
	for b.Loop() {
		_ = ToMessage(r, DefaultTopicFlows)
	}
}

func BenchmarkFromMessage(b *testing.B) {
	m := ToMessage(doc(pipeline.KindFlow, "k", 1, `{"bytes_in":1024}`), DefaultTopicFlows)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromMessage(m); err != nil {
			b.Fatal(err)
		}
	}
}
