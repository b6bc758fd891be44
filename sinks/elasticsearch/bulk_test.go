package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flowship/flowship/pipeline"
)

var day = time.Date(2025, 6, 10, 14, 0, 0, 0, time.UTC)

func rec(id, doc string) pipeline.Record {
	return pipeline.Record{Kind: pipeline.KindFlow, ID: id, Time: day, Value: []byte(doc), Key: []byte("k-" + id)}
}

// action is the decoded action line of a bulk item.
type action struct {
	Create *struct {
		Index string `json:"_index"`
		ID    string `json:"_id"`
	} `json:"create"`
}

// parseBulk splits an NDJSON bulk body into (action, document) pairs and
// fails the test on any framing error.
func parseBulk(t testing.TB, body []byte) ([]action, []string) {
	t.Helper()
	if len(body) == 0 || body[len(body)-1] != '\n' {
		t.Fatalf("bulk body does not end with a newline: %q", body)
	}
	lines := strings.Split(string(body[:len(body)-1]), "\n")
	if len(lines)%2 != 0 {
		t.Fatalf("bulk body has %d lines, want pairs", len(lines))
	}
	var acts []action
	var docs []string
	for i := 0; i < len(lines); i += 2 {
		var a action
		dec := json.NewDecoder(strings.NewReader(lines[i]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil || a.Create == nil {
			t.Fatalf("action line %q: %v", lines[i], err)
		}
		acts = append(acts, a)
		docs = append(docs, lines[i+1])
	}
	return acts, docs
}

func TestAppendCreate(t *testing.T) {
	tests := []struct {
		name    string
		rec     pipeline.Record
		wantDoc string
	}{
		{"plain", rec("0123abcd", `{"a":1}`), `{"a":1}`},
		{"id with quote, backslash and control bytes", rec("a\"b\\c\td\x01e\n", `{"a":1}`), `{"a":1}`},
		{"unicode id", rec("ключ-€", `{"a":"ü"}`), `{"a":"ü"}`},
		{"pretty printed document keeps one line", rec("x", "{\n  \"a\": 1,\n  \"b\": \"x\\ny\"\n}\n"),
			`{   "a": 1,   "b": "x\ny" } `},
		{"dns kind", pipeline.Record{Kind: pipeline.KindDNS, ID: "d", Time: day, Value: []byte(`{}`)}, `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := appendCreate([]byte("prefix\n"), flowshipNaming, &tc.rec)
			if !bytes.HasPrefix(body, []byte("prefix\n")) {
				t.Fatalf("appendCreate dropped dst's content: %q", body)
			}
			acts, docs := parseBulk(t, body[len("prefix\n"):])
			if len(acts) != 1 {
				t.Fatalf("%d items, want 1", len(acts))
			}
			wantIndex := fmt.Sprintf("flowship-%s-prod-eu-2025.06.10", tc.rec.Kind)
			if acts[0].Create.Index != wantIndex || acts[0].Create.ID != tc.rec.ID {
				t.Errorf("action = %+v, want index %q id %q", *acts[0].Create, wantIndex, tc.rec.ID)
			}
			if docs[0] != tc.wantDoc {
				t.Errorf("document line = %q, want %q", docs[0], tc.wantDoc)
			}
			if !json.Valid([]byte(docs[0])) {
				t.Errorf("document line is not JSON: %q", docs[0])
			}
		})
	}
}

func TestAppendCreateManyKeepsOrder(t *testing.T) {
	var body []byte
	recs := make([]pipeline.Record, 50)
	for i := range recs {
		recs[i] = rec(fmt.Sprintf("id-%02d", i), fmt.Sprintf(`{"n":%d}`, i))
		recs[i].Time = day.Add(time.Duration(i) * time.Hour) // spans three days
		body = appendCreate(body, calicoNaming, &recs[i])
	}
	acts, docs := parseBulk(t, body)
	for i := range recs {
		if acts[i].Create.ID != recs[i].ID || docs[i] != string(recs[i].Value) {
			t.Fatalf("item %d = %+v %s, want %s %s", i, *acts[i].Create, docs[i], recs[i].ID, recs[i].Value)
		}
		if want := calicoNaming.Index(pipeline.KindFlow, recs[i].Time); acts[i].Create.Index != want {
			t.Fatalf("item %d index %q, want %q", i, acts[i].Create.Index, want)
		}
	}
}

func TestCheckRecord(t *testing.T) {
	ok := rec("id", `{"a":1}`)
	tests := []struct {
		name   string
		mutate func(*pipeline.Record)
		bad    bool
	}{
		{"valid", func(*pipeline.Record) {}, false},
		{"no kind", func(r *pipeline.Record) { r.Kind = "" }, true},
		{"unknown kind", func(r *pipeline.Record) { r.Kind = "audit" }, true},
		{"no time", func(r *pipeline.Record) { r.Time = time.Time{} }, true},
		{"no id", func(r *pipeline.Record) { r.ID = "" }, true},
		{"id not utf-8", func(r *pipeline.Record) { r.ID = "a\xffb" }, true},
		{"empty document", func(r *pipeline.Record) { r.Value = nil }, true},
		{"blank document", func(r *pipeline.Record) { r.Value = []byte(" \n") }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.mutate(&r)
			if err := checkRecord(&r); (err != nil) != tc.bad {
				t.Fatalf("checkRecord = %v, bad = %v", err, tc.bad)
			}
		})
	}
}

// FuzzAppendCreate checks the NDJSON framing for any _id and document: the
// action line decodes to the same _id and the document stays on one line.
func FuzzAppendCreate(f *testing.F) {
	f.Add("id", `{"a":1}`)
	f.Add("a\"\\\x00\u2028", "{\n\"a\":\r\n1}")
	f.Fuzz(func(t *testing.T, id, doc string) {
		if !utf8.ValidString(id) {
			t.Skip("checkRecord dead-letters such ids before appendCreate")
		}
		r := rec(id, doc)
		body := appendCreate(nil, calicoNaming, &r)
		acts, docs := parseBulk(t, body)
		if len(acts) != 1 || acts[0].Create.ID != id {
			t.Fatalf("_id %q came back as %+v", id, acts)
		}
		if want := strings.ReplaceAll(doc, "\n", " "); docs[0] != want {
			t.Fatalf("document %q came back as %q", doc, docs[0])
		}
	})
}

func BenchmarkAppendCreate(b *testing.B) {
	recs := make([]pipeline.Record, 1000)
	doc := `{"start_time":1749556800,"end_time":1749557100,"source_ip":"10.0.0.1","dest_ip":"10.0.0.2","proto":"tcp","action":"allow","bytes_in":1234,"bytes_out":5678,"cluster":"prod-eu","flowship":{"schema":1,"id":"e3b0c44298fc1c149afbf4c8996fb924"}}`
	for i := range recs {
		recs[i] = rec(fmt.Sprintf("e3b0c44298fc1c149afbf4c8996fb9%04d", i), doc)
	}
	var body []byte
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		body = body[:0]
		for i := range recs {
			body = appendCreate(body, flowshipNaming, &recs[i])
		}
	}
	b.SetBytes(int64(len(body)))
}

func TestAppendCreateAddsPolicyHitsToFlows(t *testing.T) {
	doc := `{"action":"deny","policies":{"enforced_policies":["0|t1|t1.p|deny|3"],"pending_policies":[]}}`
	for _, kind := range []pipeline.Kind{pipeline.KindFlow, pipeline.KindL7} {
		r := pipeline.Record{Kind: kind, ID: "x", Time: time.Unix(1749542400, 0), Value: []byte(doc)}
		body := string(appendCreate(nil, DefaultNaming(), &r))
		want := `"policy_hits":[{"list":"enforced","index":0,"tier":"t1","kind":"gnp","namespace":"","name":"t1.p","action":"deny","rule":3}]}`
		if got := strings.Contains(body, want); got != (kind == pipeline.KindFlow) {
			t.Errorf("%s: policy_hits present %v: %s", kind, got, body)
		}
	}
}
