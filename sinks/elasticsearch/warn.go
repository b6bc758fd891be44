package elasticsearch

import (
	"context"
	"errors"
	"time"
)

// logEvery is the longest a repeating failure stays silent, and the
// shortest time between two log lines about it.
const logEvery = 30 * time.Second

// warnings rate-limits the sink's failure logs, one limiter per kind of
// failure so that one does not hide another.
type warnings struct {
	unreachable, auth, status, items, dead every
	waiting                                [numWaitReasons]every
}

func newWarnings(interval time.Duration) *warnings {
	w := &warnings{}
	for _, e := range []*every{&w.unreachable, &w.auth, &w.status, &w.items, &w.dead} {
		e.interval = interval
	}
	for i := range w.waiting {
		w.waiting[i].interval = interval
	}
	return w
}

func (s *Sink) warnUnreachable(ctx context.Context, err error, n int) {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return // shutting down; the acks carry the reason
	}
	if ok, held := s.warn.unreachable.allow(time.Now()); ok {
		s.tel.Logger.Warn("elasticsearch: bulk request failed; retrying with backoff until Elasticsearch answers, check elasticsearch.urls and the network",
			"urls", s.cfg.URLs, "error", err, "documents", n, "suppressed", held)
	}
}

func (s *Sink) warnAuth(status int, body []byte, n int) {
	if ok, held := s.warn.auth.allow(time.Now()); ok {
		s.tel.Logger.Error("elasticsearch: authentication failed for user "+s.user+
			"; check elasticsearch.username/password_file (or api_key_file) and the user's privileges; retrying with backoff",
			"status", status, "error", responseError(body), "documents", n, "suppressed", held)
	}
}

func (s *Sink) warnStatus(status int, body []byte, n int) {
	if ok, held := s.warn.status.allow(time.Now()); ok {
		s.tel.Logger.Warn("elasticsearch: bulk request refused; retrying with backoff",
			"status", status, "error", responseError(body), "documents", n, "suppressed", held)
	}
}

func (s *Sink) warnItems(first itemResult, retry, n int) {
	if ok, held := s.warn.items.allow(time.Now()); ok {
		s.tel.Logger.Warn("elasticsearch: some documents were refused for now (cluster busy or not ready); retrying only those with backoff",
			"retrying", retry, "documents", n, "status", first.Status, "error_type", first.ErrorType,
			"reason", first.Reason, "suppressed", held)
	}
}

func (s *Sink) warnDead(first deadItem, n int) {
	if ok, held := s.warn.dead.allow(time.Now()); ok {
		s.tel.Logger.Warn("elasticsearch: documents rejected permanently; sending them to the dead-letter consumer",
			"documents", n, "status", first.res.Status, "error_type", first.res.ErrorType,
			"reason", first.res.Reason, "id", first.rec.ID, "source", first.rec.Source, "offset", first.rec.Offset,
			"suppressed", held)
	}
}
