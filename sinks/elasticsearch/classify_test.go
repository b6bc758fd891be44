package elasticsearch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The responses in testdata/responses were recorded from a real
// Elasticsearch 8.19 (TestRecordBulkResponses, -tags integration -update);
// the expectations below are written from Elasticsearch's semantics, not
// from this code.
func TestClassifyRecordedResponses(t *testing.T) {
	c, cf := outcomeCreated, outcomeConflict
	d, r := outcomeDeadLetter, outcomeRetry
	tests := []struct {
		file   string
		status int
		want   []outcome
		types  []string // error types per item; nil = all ""
	}{
		{"created_full", 200, []outcome{c, c}, nil},
		{"created_filtered", 200, []outcome{c, c}, nil},
		{"mixed_full", 200, []outcome{c, cf, d, d},
			[]string{"", "version_conflict_engine_exception", "document_parsing_exception", "strict_dynamic_mapping_exception"}},
		{"mixed_filtered", 200, []outcome{c, cf, d, d},
			[]string{"", "version_conflict_engine_exception", "document_parsing_exception", "strict_dynamic_mapping_exception"}},
		{"malformed_document_filtered", 200, []outcome{d, c}, []string{"document_parsing_exception", ""}},
		{"write_block_filtered", 200, []outcome{r}, []string{"cluster_block_exception"}},
		{"item_429_filtered", 200, nil, nil}, // recorded only against an ES with a tiny write queue
		{"malformed_action_400", 400, nil, nil},
		{"unauthorized_401", 401, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "responses", tc.file+".json"))
			if os.IsNotExist(err) && tc.file == "item_429_filtered" {
				t.Skip("not recorded: needs FLOWSHIP_ES_WRITE_QUEUE (see TestRecordItem429)")
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.file == "item_429_filtered" {
				checkItem429(t, body)
				return
			}
			act := classifyRequest(tc.status)
			if tc.want == nil {
				if act == actionItems {
					t.Fatalf("status %d classified as a per-item response", tc.status)
				}
				if msg := responseError(body); !strings.Contains(msg, "_exception: ") {
					t.Errorf("responseError = %q, want type: reason", msg)
				}
				return
			}
			if act != actionItems {
				t.Fatalf("status %d: action %v, want per-item", tc.status, act)
			}
			got, err := classifyItems(nil, body, len(tc.want))
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range got {
				wantType := ""
				if tc.types != nil {
					wantType = tc.types[i]
				}
				if g.outcome != tc.want[i] || g.ErrorType != wantType {
					t.Errorf("item %d = %v %q, want %v %q", i, g.outcome, g.ErrorType, tc.want[i], wantType)
				}
				if (g.ErrorType != "") != (g.Reason != "") {
					t.Errorf("item %d: type %q but reason %q", i, g.ErrorType, g.Reason)
				}
			}
			if _, err := classifyItems(nil, body, len(tc.want)+1); err == nil {
				t.Error("an item count mismatch was not reported")
			}
		})
	}
}

// checkItem429 asserts that a real overload response has item-level 429s
// (inside HTTP 200) and that exactly those are retried.
func checkItem429(t *testing.T, body []byte) {
	t.Helper()
	got, err := classifyItems(nil, body, countItems(body))
	if err != nil {
		t.Fatal(err)
	}
	n429 := 0
	for i, g := range got {
		switch g.Status {
		case 429:
			n429++
			if g.outcome != outcomeRetry || g.ErrorType != "es_rejected_execution_exception" {
				t.Errorf("item %d: 429 %q classified %v", i, g.ErrorType, g.outcome)
			}
		case 201:
			if g.outcome != outcomeCreated {
				t.Errorf("item %d: 201 classified %v", i, g.outcome)
			}
		}
	}
	if n429 == 0 {
		t.Error("recorded response has no item-level 429")
	}
}

func countItems(body []byte) int {
	return strings.Count(string(body), `{"create":`)
}

func TestClassifyItem(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		errType string
		want    outcome
	}{
		{"created", 201, "", outcomeCreated},
		{"ok", 200, "", outcomeCreated},
		{"conflict", 409, "version_conflict_engine_exception", outcomeConflict},
		{"item 429", 429, "es_rejected_execution_exception", outcomeRetry},
		{"circuit breaker", 429, "circuit_breaking_exception", outcomeRetry},
		{"rejected execution with an odd status", 400, "es_rejected_execution_exception", outcomeRetry},
		{"503 shards", 503, "unavailable_shards_exception", outcomeRetry},
		{"500", 500, "null_pointer_exception", outcomeRetry},
		{"408", 408, "", outcomeRetry},
		{"write block 403", 403, "cluster_block_exception", outcomeRetry},
		{"missing privileges", 403, "security_exception", outcomeRetry},
		{"index missing, auto-create off", 404, "index_not_found_exception", outcomeRetry},
		{"mapping", 400, "mapper_parsing_exception", outcomeDeadLetter},
		{"document parsing", 400, "document_parsing_exception", outcomeDeadLetter},
		{"illegal argument", 400, "illegal_argument_exception", outcomeDeadLetter},
		{"strict mapping", 400, "strict_dynamic_mapping_exception", outcomeDeadLetter},
		{"2xx with an error object", 200, "weird_exception", outcomeDeadLetter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classifyItem(tc.status, tc.errType); got != tc.want {
				t.Fatalf("classifyItem(%d, %q) = %v, want %v", tc.status, tc.errType, got, tc.want)
			}
		})
	}
}

func TestClassifyRequest(t *testing.T) {
	tests := []struct {
		status int
		want   requestAction
	}{
		{200, actionItems}, {201, actionItems},
		{400, actionSplit}, {413, actionSplit},
		{401, actionAuth}, {403, actionAuth},
		{404, actionRetry}, {408, actionRetry}, {429, actionRetry},
		{500, actionRetry}, {502, actionRetry}, {503, actionRetry}, {504, actionRetry},
	}
	for _, tc := range tests {
		if got := classifyRequest(tc.status); got != tc.want {
			t.Errorf("classifyRequest(%d) = %v, want %v", tc.status, got, tc.want)
		}
	}
}

func TestClassifyItemsMalformed(t *testing.T) {
	tests := []struct {
		name string
		body string
		want int
	}{
		{"not json", `<html>`, 1},
		{"truncated", `{"errors":false,"items":[{"create":{"status":201}}`, 1},
		{"no items", `{"errors":false}`, 1},
		{"too few", `{"items":[{"create":{"status":201}}]}`, 2},
		{"too many", `{"items":[{"create":{"status":201}},{"create":{"status":201}}]}`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := classifyItems(nil, []byte(tc.body), tc.want); err == nil {
				t.Fatalf("classifyItems accepted %s: %v", tc.body, got)
			}
		})
	}
	// An item without a status is retried, not counted as created.
	got, err := classifyItems(nil, []byte(`{"items":[{"create":{}}]}`), 1)
	if err != nil || got[0].outcome != outcomeRetry {
		t.Errorf("item without status = %v, %v; want retry", got, err)
	}
}

// FuzzClassifyItems checks that any response body yields either an error
// or exactly the asked number of classified items, never a panic.
func FuzzClassifyItems(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "responses", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, countItems(b))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		if n < 0 || n > 1000 {
			return
		}
		got, err := classifyItems(nil, body, n)
		if err == nil && len(got) != n {
			t.Fatalf("%d results for %d items", len(got), n)
		}
		for _, g := range got {
			if g.outcome < outcomeCreated || g.outcome > outcomeDeadLetter {
				t.Fatalf("outcome %d out of range", g.outcome)
			}
		}
	})
}
