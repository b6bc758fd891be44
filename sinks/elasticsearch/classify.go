package elasticsearch

import (
	"fmt"

	"github.com/tidwall/gjson"
)

// Outcome is the fate of one document after a bulk attempt.
type Outcome uint8

// The outcomes.
const (
	// OutcomeCreated: 2xx, the document is indexed.
	OutcomeCreated Outcome = iota + 1
	// OutcomeConflict: 409 on create, a document with this _id is already
	// in the index (a replay); it counts as done.
	OutcomeConflict
	// OutcomeRetry: Elasticsearch could not take the document now (429,
	// 5xx, rejected execution, blocks, missing index or privileges); send
	// it again after a backoff.
	OutcomeRetry
	// OutcomeDeadLetter: Elasticsearch will never take this document as it
	// is (mapping conflict, parse error, other 4xx).
	OutcomeDeadLetter
)

// String returns the metric label of o.
func (o Outcome) String() string {
	switch o {
	case OutcomeCreated:
		return "created"
	case OutcomeConflict:
		return "conflict"
	case OutcomeRetry:
		return "retried"
	case OutcomeDeadLetter:
		return "dead_lettered"
	}
	return "unknown"
}

// ItemResult is the classified result of one bulk item.
type ItemResult struct {
	Outcome   Outcome
	Status    int    // the item's HTTP status
	ErrorType string // error.type, "" on success and conflicts
	Reason    string // error.reason, "" on success and conflicts
}

// retryTypes are error types that say "not now" rather than "never",
// whatever their status: overload, cluster state, and failures that would
// otherwise dead-letter every document because of a setup mistake
// (missing index with auto-create off, missing privileges, read-only
// blocks) — those wait for the operator instead.
var retryTypes = map[string]bool{
	"es_rejected_execution_exception":         true,
	"circuit_breaking_exception":              true,
	"cluster_block_exception":                 true,
	"index_not_found_exception":               true,
	"security_exception":                      true,
	"unavailable_shards_exception":            true,
	"no_shard_available_action_exception":     true,
	"process_cluster_event_timeout_exception": true,
	"node_not_connected_exception":            true,
	"receive_timeout_transport_exception":     true,
	"node_disconnected_exception":             true,
	"primary_missing_action_exception":        true,
	"connect_transport_exception":             true,
	"timeout_exception":                       true,
}

// classifyItem maps one bulk item's status and error type to an Outcome.
func classifyItem(status int, errType string) Outcome {
	switch {
	case status >= 200 && status < 300 && errType == "":
		return OutcomeCreated
	case status == 409:
		return OutcomeConflict
	case status == 408 || status == 429 || status >= 500:
		return OutcomeRetry
	case status == 401 || status == 403:
		return OutcomeRetry
	case retryTypes[errType]:
		return OutcomeRetry
	}
	return OutcomeDeadLetter
}

// classifyItems parses a successful (2xx) bulk response body and appends
// one ItemResult per item to dst, in request order. It fails when the body
// is not a bulk response or does not hold exactly want items; the caller
// then retries the whole request, which create + stable _id makes safe.
func classifyItems(dst []ItemResult, body []byte, want int) ([]ItemResult, error) {
	if !gjson.ValidBytes(body) {
		return dst, fmt.Errorf("bulk response is not JSON (%d bytes)", len(body))
	}
	items := gjson.GetBytes(body, "items")
	if !items.IsArray() {
		return dst, fmt.Errorf("bulk response has no items array")
	}
	start := len(dst)
	items.ForEach(func(_, item gjson.Result) bool {
		// Each item is {"<op>":{...}} with exactly one key.
		res := ItemResult{Outcome: OutcomeRetry, Reason: "bulk item has no action object"}
		item.ForEach(func(_, v gjson.Result) bool {
			res = itemResult(v)
			return false
		})
		dst = append(dst, res)
		return true
	})
	if got := len(dst) - start; got != want {
		return dst[:start], fmt.Errorf("bulk response has %d items for %d documents", got, want)
	}
	return dst, nil
}

func itemResult(v gjson.Result) ItemResult {
	st := v.Get("status")
	if !st.Exists() {
		return ItemResult{Outcome: OutcomeRetry, Reason: "bulk item has no status"}
	}
	res := ItemResult{Status: int(st.Int())}
	if e := v.Get("error"); e.Exists() {
		res.ErrorType = e.Get("type").String()
		res.Reason = e.Get("reason").String()
		if res.ErrorType == "" && e.Type == gjson.String {
			res.Reason = e.String() // very old servers sent a plain string
		}
	}
	res.Outcome = classifyItem(res.Status, res.ErrorType)
	return res
}

// requestAction is what to do after a bulk request's HTTP status.
type requestAction uint8

const (
	// actionItems: 2xx, settle each item from the response body.
	actionItems requestAction = iota + 1
	// actionRetry: the whole request failed transiently (429, 5xx, any
	// unexpected status); resend every item after a backoff.
	actionRetry
	// actionAuth: 401/403, credentials are wrong or lack privileges;
	// retry with backoff and tell the user which keys to check.
	actionAuth
	// actionSplit: 413 (body too large) or 400 (a malformed line poisons
	// the whole request); send each half alone, down to single documents,
	// which then dead-letter.
	actionSplit
)

// classifyRequest maps the HTTP status of a whole bulk request to an
// action.
func classifyRequest(status int) requestAction {
	switch {
	case status >= 200 && status < 300:
		return actionItems
	case status == 401 || status == 403:
		return actionAuth
	case status == 400 || status == 413:
		return actionSplit
	}
	return actionRetry
}

// responseError extracts "type: reason" from an error response body, or
// a short prefix of the body when it has no Elasticsearch error object.
func responseError(body []byte) string {
	if t := gjson.GetBytes(body, "error.type"); t.Exists() {
		return t.String() + ": " + gjson.GetBytes(body, "error.reason").String()
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return string(body)
}
