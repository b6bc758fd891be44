package elasticsearch

import (
	"fmt"

	"github.com/tidwall/gjson"
)

// outcome is the fate of one document after a bulk attempt.
type outcome uint8

// The outcomes.
const (
	// outcomeCreated: 2xx, the document is indexed.
	outcomeCreated outcome = iota + 1
	// outcomeConflict: 409 on create, a document with this _id is already
	// in the index (a replay); it counts as done.
	outcomeConflict
	// outcomeRetry: Elasticsearch could not take the document now (429,
	// 5xx, rejected execution, blocks, missing index or privileges); send
	// it again after a backoff.
	outcomeRetry
	// outcomeDeadLetter: Elasticsearch will never take this document as it
	// is (mapping conflict, parse error, other 4xx).
	outcomeDeadLetter
)

// String returns the metric label of o.
func (o outcome) String() string {
	switch o {
	case outcomeCreated:
		return "created"
	case outcomeConflict:
		return "conflict"
	case outcomeRetry:
		return "retried"
	case outcomeDeadLetter:
		return "dead_lettered"
	}
	return "unknown"
}

// itemResult is the classified result of one bulk item.
type itemResult struct {
	outcome   outcome
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

// classifyItem maps one bulk item's status and error type to an outcome.
func classifyItem(status int, errType string) outcome {
	switch {
	case status >= 200 && status < 300 && errType == "":
		return outcomeCreated
	case status == 409:
		return outcomeConflict
	case status == 408 || status == 429 || status >= 500:
		return outcomeRetry
	case status == 401 || status == 403:
		return outcomeRetry
	case retryTypes[errType]:
		return outcomeRetry
	}
	return outcomeDeadLetter
}

// classifyItems parses a successful (2xx) bulk response body and appends
// one itemResult per item to dst, in request order. It fails when the body
// is not a bulk response or does not hold exactly want items; the caller
// then retries the whole request, which create + stable _id makes safe.
func classifyItems(dst []itemResult, body []byte, want int) ([]itemResult, error) {
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
		res := itemResult{outcome: outcomeRetry, Reason: "bulk item has no action object"}
		item.ForEach(func(_, v gjson.Result) bool {
			res = parseItem(v)
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

func parseItem(v gjson.Result) itemResult {
	st := v.Get("status")
	if !st.Exists() {
		return itemResult{outcome: outcomeRetry, Reason: "bulk item has no status"}
	}
	res := itemResult{Status: int(st.Int())}
	if e := v.Get("error"); e.Exists() {
		res.ErrorType = e.Get("type").String()
		res.Reason = e.Get("reason").String()
		if res.ErrorType == "" && e.Type == gjson.String {
			res.Reason = e.String() // very old servers sent a plain string
		}
	}
	res.outcome = classifyItem(res.Status, res.ErrorType)
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
