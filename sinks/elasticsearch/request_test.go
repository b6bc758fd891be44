package elasticsearch

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowship/flowship/pipeline/pipelinetest"
)

func TestWholeRequestFailuresRetry(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantLog []string
	}{
		{"503", 503, `{"error":{"type":"cluster_block_exception","reason":"blocked by: [SERVICE_UNAVAILABLE/1/state not recovered]"},"status":503}`,
			[]string{"bulk request refused", "cluster_block_exception"}},
		{"429", 429, `{"error":{"type":"es_rejected_execution_exception","reason":"rejected"},"status":429}`,
			[]string{"bulk request refused", "status=429"}},
		{"401", 401, `{"error":{"type":"security_exception","reason":"unable to authenticate user [flowship]"},"status":401}`,
			[]string{"authentication failed for user flowship", "elasticsearch.username/password_file"}},
		{"403", 403, `{"error":{"type":"security_exception","reason":"action [indices:data/write/bulk] is unauthorized"},"status":403}`,
			[]string{"authentication failed for user flowship", "privileges"}},
		{"non-json 502 from a proxy", 502, `<html>bad gateway</html>`, []string{"status=502", "bad gateway"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeES(t)
			f.whole = func(call int, _ []bulkItem) (int, string) {
				if call <= 3 {
					return tc.status, tc.body
				}
				return 0, ""
			}
			cfg := testConfig(f.srv.URL)
			cfg.Username = "flowship"
			dlq := &pipelinetest.Sink{}
			h := startSink(t, cfg, dlq)
			a := consume(t, h.sink, docs("d", 3))
			if err := a.wait(t); err != nil {
				t.Fatalf("ack = %v, want nil", err)
			}
			if f.docCount() != 3 || f.callCount() != 4 || len(dlq.Records()) != 0 {
				t.Errorf("docs=%d calls=%d dlq=%d, want 3, 4, 0", f.docCount(), f.callCount(), len(dlq.Records()))
			}
			if !containsAll(h.logs.String(), tc.wantLog...) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, h.logs)
			}
		})
	}
}

func TestTooLargeSplitsInHalves(t *testing.T) {
	f := newFakeES(t)
	big := strings.Repeat("x", 5000)
	f.whole = func(_ int, items []bulkItem) (int, string) {
		total := 0
		for _, it := range items {
			total += len(it.Doc)
		}
		if total > 4000 {
			return 413, ""
		}
		return 0, ""
	}
	recs := docs("d", 40) // ~20 bytes each: 2 items per 4000 bytes? no: 40*20 = 800, fits
	for i := range recs {
		recs[i].Value = []byte(`{"pad":"` + strings.Repeat("p", 300) + `"}`) // 40*310 > 4000: must split
	}
	recs[17].Value = []byte(`{"pad":"` + big + `"}`) // alone still too large
	dlq := &pipelinetest.Sink{}
	h := startSink(t, testConfig(f.srv.URL), dlq)
	a := consume(t, h.sink, recs)
	if err := a.wait(t); err != nil {
		t.Fatalf("ack = %v", err)
	}
	if f.docCount() != 39 {
		t.Errorf("%d documents indexed, want 39", f.docCount())
	}
	dl := dlq.Records()
	if len(dl) != 1 || dl[0].ID != "d-17" {
		t.Fatalf("dead letters %v, want d-17 only", dl)
	}
	var env RejectedDocument
	if err := json.Unmarshal(dl[0].Value, &env); err != nil || env.Status != 413 || !strings.Contains(env.Reason, "http.max_content_length") {
		t.Errorf("envelope %s (%v): want status 413 naming http.max_content_length", dl[0].Value, err)
	}
	for id := range 40 {
		if n := f.attemptsOf(idOf(id)); id != 17 && n > 6 {
			t.Errorf("%s sent %d times; splitting should need about log2(40)", idOf(id), n)
		}
	}
}

func idOf(i int) string { return docs("d", i+1)[i].ID }

func TestMalformedRequestIsolatesThePoisonDocument(t *testing.T) {
	f := newFakeES(t)
	f.whole = func(_ int, items []bulkItem) (int, string) {
		for _, it := range items {
			if it.ID == "d-5" {
				return 400, `{"error":{"type":"x_content_parse_exception","reason":"[1:10] Unexpected character"},"status":400}`
			}
		}
		return 0, ""
	}
	dlq := &pipelinetest.Sink{}
	h := startSink(t, testConfig(f.srv.URL), dlq)
	recs := docs("d", 9)
	a := consume(t, h.sink, recs)
	if err := a.wait(t); err != nil {
		t.Fatalf("ack = %v", err)
	}
	if f.docCount() != 8 {
		t.Errorf("%d indexed, want 8", f.docCount())
	}
	dl := dlq.Records()
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	checkDeadLetter(t, dl[0], recs[5], RejectedDocument{Index: testIndex, Status: 400,
		Reason: "x_content_parse_exception: [1:10] Unexpected character"})
}
