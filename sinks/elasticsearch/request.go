package elasticsearch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowship/flowship/pipeline"
)

// filterPath trims the bulk response to what classification reads: per
// item only the status and the error, plus a whole-request error.
var filterPath = []string{"errors", "items.*.status", "items.*.error.type", "items.*.error.reason",
	"error.type", "error.reason"}

// post sends w.body, which holds items, classifies the answer and appends
// the items to retry to again. Permanently rejected items go to w.dead.
// ok is false after a whole-request failure, when the rest of the round
// should wait; progressed reports whether any item was settled.
func (w *worker) post(ctx context.Context, items, again []*pipeline.Record) (_ []*pipeline.Record, ok, progressed bool) {
	status, body, err := w.do(ctx, len(items))
	w.stop = waitNone
	if err != nil {
		w.s.warnUnreachable(ctx, err, len(items))
		w.s.m.items(ctx, "retried", len(items))
		return append(again, items...), false, false
	}
	switch classifyRequest(status) {
	case actionItems:
		return w.settleItems(ctx, items, again, body)
	case actionAuth:
		w.stop = waitReasonOf(status, "")
		w.waits[w.stop] += len(items)
		w.s.warnAuth(status, body, len(items))
		w.s.m.items(ctx, "retried", len(items))
		return append(again, items...), false, false
	case actionSplit:
		return w.split(ctx, items, again, status, body)
	}
	w.s.warnStatus(status, body, len(items))
	w.s.m.items(ctx, "retried", len(items))
	return append(again, items...), false, false
}

// settleItems applies a 2xx bulk response item by item.
func (w *worker) settleItems(ctx context.Context, items, again []*pipeline.Record, body []byte) (_ []*pipeline.Record, ok, progressed bool) {
	res, err := classifyItems(w.results[:0], body, len(items))
	w.results = res
	if err != nil {
		w.s.warnStatus(200, []byte(err.Error()), len(items))
		w.s.m.items(ctx, "retried", len(items))
		return append(again, items...), true, false
	}
	var n [outcomeDeadLetter + 1]int
	var firstRetry itemResult
	for i, r := range res {
		n[r.outcome]++
		switch r.outcome {
		case outcomeRetry:
			if firstRetry.outcome == 0 {
				firstRetry = r
			}
			w.waits[waitReasonOf(r.Status, r.ErrorType)]++
			again = append(again, items[i])
		case outcomeDeadLetter:
			w.dead = append(w.dead, deadItem{rec: items[i], res: r})
		}
	}
	for o := outcomeCreated; o <= outcomeDeadLetter; o++ {
		w.s.m.items(ctx, o.String(), n[o])
	}
	if n[outcomeRetry] > 0 {
		w.s.warnItems(firstRetry, n[outcomeRetry], len(items))
	}
	return again, true, n[outcomeRetry] < len(items)
}

// split handles 413 and 400 for the whole request: each half is sent
// alone, so an oversized or malformed document ends up alone and is
// dead-lettered, while the others are indexed.
func (w *worker) split(ctx context.Context, items, again []*pipeline.Record, status int, body []byte) (_ []*pipeline.Record, ok, progressed bool) {
	if len(items) == 1 {
		res := itemResult{outcome: outcomeDeadLetter, Status: status, Reason: responseError(body)}
		if status == 413 {
			res.ErrorType, res.Reason = "request_entity_too_large",
				fmt.Sprintf("document of %d bytes is larger than the server accepts (http.max_content_length)", len(w.body))
		}
		w.dead = append(w.dead, deadItem{rec: items[0], res: res})
		w.s.m.items(ctx, "dead_lettered", 1)
		return again, true, true
	}
	half := len(items) / 2
	parts := [2][]*pipeline.Record{items[:half], items[half:]}
	for i, part := range parts {
		w.build(part)
		var p bool
		again, ok, p = w.post(ctx, part, again)
		progressed = progressed || p
		if !ok {
			if i == 0 {
				again = append(again, parts[1]...)
			}
			return again, false, progressed
		}
	}
	return again, true, progressed
}

// do sends w.body as one bulk request and returns the status and the
// response body (valid until the next call).
func (w *worker) do(ctx context.Context, n int) (int, []byte, error) {
	ctx, span := w.s.tel.Tracer.Start(ctx, "elasticsearch.bulk", trace.WithAttributes(
		attribute.Int("documents", n), attribute.Int("bytes", len(w.body))))
	defer span.End()
	rctx, cancel := context.WithTimeout(ctx, w.s.cfg.RequestTimeout)
	defer cancel()
	mctx := context.WithoutCancel(ctx)
	w.s.m.inflight.Add(mctx, 1)
	start := time.Now()
	defer func() {
		w.s.m.inflight.Add(mctx, -1)
		w.s.m.latency.Record(mctx, time.Since(start).Seconds())
	}()
	req := esapi.BulkRequest{Body: bytes.NewReader(w.body), FilterPath: filterPath}
	if w.s.cfg.Compress {
		w.gzip()
		req.Body = bytes.NewReader(w.zbody.Bytes())
		req.Header = http.Header{"Content-Encoding": {"gzip"}}
	}
	res, err := req.Do(rctx, w.s.client)
	if err != nil {
		span.RecordError(err)
		return 0, nil, err
	}
	defer res.Body.Close()
	w.resp, err = readAll(w.resp[:0], res.Body)
	if err != nil {
		span.RecordError(err)
		return 0, nil, fmt.Errorf("reading the bulk response: %w", err)
	}
	span.SetAttributes(attribute.Int("status", res.StatusCode))
	return res.StatusCode, w.resp, nil
}

// gzip compresses w.body into w.zbody at gzip's fastest level (the
// transport's own compression runs at the default level, about 4× the
// CPU for a few percent smaller bodies).
func (w *worker) gzip() {
	w.zbody.Reset()
	if w.zw == nil {
		w.zw, _ = gzip.NewWriterLevel(&w.zbody, gzip.BestSpeed) // a valid level: no error
	} else {
		w.zw.Reset(&w.zbody)
	}
	// Writing to a bytes.Buffer cannot fail.
	_, _ = w.zw.Write(w.body)
	_ = w.zw.Close()
}

// readAll appends r to dst, reusing dst's storage.
func readAll(dst []byte, r io.Reader) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// backoff returns the retry backoff from the config.
func (s *Sink) backoff() pipeline.Backoff {
	return pipeline.Backoff{Initial: s.cfg.Retry.Initial, Max: s.cfg.Retry.Max}
}
