package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// benchES is a minimal Elasticsearch client: plain HTTP with basic auth.
type benchES struct {
	url, user, password string
	http                *http.Client
}

func newBenchES(url, user, password string) *benchES {
	return &benchES{url: strings.TrimRight(url, "/"), user: user, password: password,
		http: &http.Client{Timeout: 10 * time.Minute}}
}

// do sends one request and returns the body of a 2xx answer.
func (e *benchES) do(ctx context.Context, method, path, contentType string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if e.user != "" {
		req.SetBasicAuth(e.user, e.password)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := e.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 != 2 {
		return b, fmt.Errorf("elasticsearch %s %s: %s: %.300s", method, path, res.Status, b)
	}
	return b, nil
}

// deleteIndices removes every index matching pattern (missing is fine).
func (e *benchES) deleteIndices(ctx context.Context, pattern string) error {
	_, err := e.do(ctx, http.MethodDelete, "/"+pattern+"?ignore_unavailable=true&allow_no_indices=true&expand_wildcards=all", "", nil)
	return err
}

// settle refreshes the indices and force-merges them to one segment, so
// store sizes compare like for like and do not depend on merge timing.
func (e *benchES) settle(ctx context.Context, pattern string) error {
	if _, err := e.do(ctx, http.MethodPost, "/"+pattern+"/_refresh", "", nil); err != nil {
		return err
	}
	_, err := e.do(ctx, http.MethodPost, "/"+pattern+"/_forcemerge?max_num_segments=1", "", nil)
	return err
}

// indexStats is the primaries' store size and top-level document count
// (_stats counts nested documents too, so the count comes from _count).
type indexStats struct {
	Docs       int64
	StoreBytes int64
}

func (e *benchES) stats(ctx context.Context, pattern string) (indexStats, error) {
	b, err := e.do(ctx, http.MethodGet, "/"+pattern+"/_stats/docs,store", "", nil)
	if err != nil {
		return indexStats{}, err
	}
	var s struct {
		All struct {
			Primaries struct {
				Docs  struct{ Count int64 } `json:"docs"`
				Store struct {
					SizeInBytes int64 `json:"size_in_bytes"`
				} `json:"store"`
			} `json:"primaries"`
		} `json:"_all"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return indexStats{}, fmt.Errorf("reading _stats: %w", err)
	}
	n, err := e.count(ctx, pattern)
	return indexStats{Docs: n, StoreBytes: s.All.Primaries.Store.SizeInBytes}, err
}

// count returns the searchable documents after a refresh.
func (e *benchES) count(ctx context.Context, pattern string) (int64, error) {
	if _, err := e.do(ctx, http.MethodPost, "/"+pattern+"/_refresh", "", nil); err != nil {
		return 0, err
	}
	b, err := e.do(ctx, http.MethodGet, "/"+pattern+"/_count", "", nil)
	if err != nil {
		return 0, err
	}
	var c struct{ Count int64 }
	err = json.Unmarshal(b, &c)
	return c.Count, err
}

// version returns the cluster's version number.
func (e *benchES) version(ctx context.Context) (string, error) {
	// GET / lives in the rest-root module, which minimal distributions lack.
	b, err := e.do(ctx, http.MethodGet, "/_nodes/_local?filter_path=nodes.*.version", "", nil)
	if err != nil {
		return "", err
	}
	var v struct {
		Nodes map[string]struct{ Version string } `json:"nodes"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	for _, n := range v.Nodes {
		return n.Version, nil
	}
	return "", errors.New("no node in GET _nodes/_local")
}
