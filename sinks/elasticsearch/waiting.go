package elasticsearch

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// waitReason says why documents wait for an operator rather than for a
// busy cluster: Elasticsearch refuses them in a way that only a change
// of credentials, privileges, blocks or indices ends. The sink keeps
// retrying them (nothing is lost while Kafka retains the records), counts
// them in flowship_es_waiting_documents{reason}, logs them rate-limited
// and, after unready_after, reports them through Ready.
type waitReason uint8

const (
	waitNone          waitReason = iota
	waitUnauthorized             // 401: credentials rejected
	waitForbidden                // 403: missing privileges or a write block
	waitIndexNotFound            // index_not_found_exception: no index and no auto-create
	numWaitReasons
)

var waitNames = [numWaitReasons]string{"", "unauthorized", "forbidden", "index_not_found"}

// waitHints tell the operator what to change.
var waitHints = [numWaitReasons]string{"",
	"check elasticsearch.username and password_file (or api_key_file)",
	"grant the user the create_doc and create_index privileges on the flowship indices, or lift a write block on the index (index.blocks.write; read_only_allow_delete after a full disk)",
	"run flowship setup, or let Elasticsearch auto-create the flowship indices (action.auto_create_index)",
}

// waitReasonOf classifies a refusal the sink retries; waitNone for
// refusals a busy or recovering cluster ends by itself (429, 5xx, ...).
func waitReasonOf(status int, errType string) waitReason {
	switch {
	case errType == "index_not_found_exception":
		return waitIndexNotFound
	case status == 401:
		return waitUnauthorized
	case status == 403:
		return waitForbidden
	}
	return waitNone
}

// waitCounts are the documents of one worker's group waiting, by reason.
type waitCounts [numWaitReasons]int

// waitBoard holds, per worker, how many documents wait for each reason
// and since when, for the gauge, the log and Ready.
type waitBoard struct {
	mu      sync.Mutex
	workers []waitEntry
}

type waitEntry struct {
	n     waitCounts
	since [numWaitReasons]time.Time
}

func newWaitBoard(workers int) *waitBoard { return &waitBoard{workers: make([]waitEntry, workers)} }

// set records worker id's waiting documents after a round at now. A
// reason's time starts when its count leaves 0 and ends when it returns
// to 0.
func (b *waitBoard) set(id int, n waitCounts, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := &b.workers[id]
	for r := range numWaitReasons {
		switch {
		case n[r] == 0:
			e.since[r] = time.Time{}
		case e.n[r] == 0:
			e.since[r] = now
		}
	}
	e.n = n
}

// Waiting is a count of documents the sink keeps retrying because
// Elasticsearch refuses them until an operator acts.
type Waiting struct {
	// Reason is unauthorized (401), forbidden (403) or index_not_found.
	Reason string
	// Documents is how many documents wait for it now.
	Documents int
	// Since is when the longest-waiting of them started waiting.
	Since time.Time
}

// totals sums the workers' counts, with the earliest since per reason.
func (b *waitBoard) totals() []Waiting {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Waiting, 0, numWaitReasons-1)
	for r := waitNone + 1; r < numWaitReasons; r++ {
		w := Waiting{Reason: waitNames[r]}
		for _, e := range b.workers {
			if e.n[r] == 0 {
				continue
			}
			w.Documents += e.n[r]
			if w.Since.IsZero() || e.since[r].Before(w.Since) {
				w.Since = e.since[r]
			}
		}
		out = append(out, w)
	}
	return out
}

// Waiting reports, for each reason, the documents waiting for an
// operator now (Documents 0 when none). Safe for concurrent use.
func (s *Sink) Waiting() []Waiting { return s.waits.totals() }

// Ready returns an error naming the reason, the documents and since when
// once documents have waited for an operator longer than unready_after;
// otherwise nil. It is the indexer's readiness check for writes.
func (s *Sink) Ready() error {
	now := time.Now()
	var msgs []string
	for _, w := range s.waits.totals() {
		if w.Documents == 0 || now.Sub(w.Since) < s.cfg.UnreadyAfter {
			continue
		}
		r := reasonByName(w.Reason)
		msgs = append(msgs, fmt.Sprintf("%d documents refused with %s since %s (%s); %s",
			w.Documents, w.Reason, w.Since.UTC().Format(time.RFC3339), now.Sub(w.Since).Round(time.Second), waitHints[r]))
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("elasticsearch refuses writes, retrying: %s", strings.Join(msgs, "; "))
}

func reasonByName(name string) waitReason {
	for r, n := range waitNames {
		if n == name {
			return waitReason(r)
		}
	}
	return waitNone
}

// warnWaiting logs, rate-limited per reason, the documents a worker's
// group has waiting after a round.
func (s *Sink) warnWaiting(n waitCounts) {
	now := time.Now()
	for _, w := range s.waits.totals() {
		r := reasonByName(w.Reason)
		if n[r] == 0 {
			continue
		}
		if ok, held := s.warn.waiting[r].allow(now); ok {
			s.tel.Logger.Warn("elasticsearch: documents waiting: "+w.Reason+"; retrying with backoff, nothing is lost while Kafka keeps them; "+waitHints[r],
				"reason", w.Reason, "documents", w.Documents, "since", w.Since.UTC().Format(time.RFC3339),
				"waiting_for", now.Sub(w.Since).Round(time.Second).String(), "suppressed", held)
		}
	}
}
