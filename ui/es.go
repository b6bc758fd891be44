package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	goes "github.com/elastic/go-elasticsearch/v8"
	"github.com/tidwall/gjson"
)

// searcher runs one search against an index or alias and returns the raw
// response body. The real one is Elasticsearch; tests may swap it.
type searcher interface {
	search(ctx context.Context, index string, body any) ([]byte, error)
}

// esSearcher searches through a go-elasticsearch client. A missing alias
// answers empty (ignore_unavailable), so a fresh cluster shows empty views.
type esSearcher struct{ c *goes.Client }

// errES is a failed Elasticsearch query. Its message goes to the log, never
// to the browser: the API answers 502 with a fixed text instead.
type errES struct{ err error }

func (e errES) Error() string { return "elasticsearch: " + e.err.Error() }
func (e errES) Unwrap() error { return e.err }

func (s esSearcher) search(ctx context.Context, index string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("ui: encoding query: %w", err)
	}
	c := s.c
	res, err := c.Search(
		c.Search.WithContext(ctx),
		c.Search.WithIndex(index),
		c.Search.WithBody(bytes.NewReader(b)),
		c.Search.WithIgnoreUnavailable(true),
		c.Search.WithAllowNoIndices(true),
		c.Search.WithTrackTotalHits(true),
	)
	if err != nil {
		return nil, errES{err}
	}
	defer res.Body.Close()
	out, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
	if err != nil {
		return nil, errES{err}
	}
	if res.StatusCode != http.StatusOK {
		reason := gjson.GetBytes(out, "error.root_cause.0.reason").String()
		if reason == "" {
			reason = strings.TrimSpace(string(out[:min(len(out), 300)]))
		}
		return nil, errES{fmt.Errorf("search %s: %d %s", index, res.StatusCode, reason)}
	}
	if f := gjson.GetBytes(out, "_shards.failed"); f.Int() > 0 {
		return nil, errES{errors.New("search " + index + ": shard failures: " + gjson.GetBytes(out, "_shards.failures.0.reason.reason").String())}
	}
	return out, nil
}
