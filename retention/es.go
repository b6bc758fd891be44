package retention

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/ilm/getlifecycle"
)

// esResponse is one Elasticsearch answer, read whole.
type esResponse struct {
	status int
	body   []byte
}

// send performs method path (with an optional query) and reads the answer.
// A transport failure is an error; any HTTP status is a response.
func send(ctx context.Context, c *elasticsearch.Client, method, path, query string, body []byte) (esResponse, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, (&url.URL{Path: path, RawQuery: query}).String(), rd)
	if err != nil {
		return esResponse{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Perform(req)
	if err != nil {
		return esResponse{}, fmt.Errorf("%s %s: %w; check the Elasticsearch URL, credentials and network", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return esResponse{}, fmt.Errorf("%s %s: reading the response: %w", method, path, err)
	}
	return esResponse{status: res.StatusCode, body: b}, nil
}

// reason extracts Elasticsearch's error type and reason from an error body:
// {"error":{"type":..,"reason":..},"status":..} or {"error":"text"}.
func (r esResponse) reason() string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(r.body, &e) == nil && len(e.Error) > 0 {
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return s
		}
		var obj struct {
			Type      string `json:"type"`
			Reason    string `json:"reason"`
			RootCause []struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"root_cause"`
		}
		if json.Unmarshal(e.Error, &obj) == nil && obj.Type != "" {
			msg := obj.Type + ": " + obj.Reason
			if len(obj.RootCause) > 0 && obj.RootCause[0].Reason != obj.Reason {
				msg += " (caused by " + obj.RootCause[0].Type + ": " + obj.RootCause[0].Reason + ")"
			}
			return msg
		}
	}
	s := strings.TrimSpace(string(r.body))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// err describes a failed request for the user.
func (r esResponse) err(what string) error {
	hint := ""
	switch r.status {
	case http.StatusUnauthorized:
		hint = "; check the Elasticsearch username and password"
	case http.StatusForbidden:
		hint = "; the user needs the manage_index_templates, manage_ilm and manage (on flowship's indices) privileges"
	}
	return fmt.Errorf("%s: Elasticsearch answered %d: %s%s", what, r.status, r.reason(), hint)
}

// noHandler reports whether r says the endpoint does not exist on this
// server because the module that serves it is not installed. Elasticsearch
// answers 400 "no handler found for uri [...]" when no route matches, and
// 405 "Incorrect HTTP method for uri [...]" when only a route of another
// method does: GET /_ilm/status on a node without ILM gets the 405
// (recorded from 8.19.21 in testdata/recorded).
func (r esResponse) noHandler() bool {
	b := string(r.body)
	return (r.status == http.StatusBadRequest && strings.Contains(b, "no handler found for uri")) ||
		(r.status == http.StatusMethodNotAllowed && strings.Contains(b, "Incorrect HTTP method for uri"))
}

// ILMStatus is what GET _ilm/status said.
type ILMStatus struct {
	Available     bool
	OperationMode string // RUNNING | STOPPING | STOPPED when Available
}

// DetectILM asks GET /_ilm/status whether index lifecycle management exists
// on the cluster. A "no handler" answer (see noHandler) means it does not,
// as on the integ-test distribution; any other failure is an error.
func DetectILM(ctx context.Context, c *elasticsearch.Client) (ILMStatus, error) {
	r, err := send(ctx, c, http.MethodGet, "/_ilm/status", "", nil)
	if err != nil {
		return ILMStatus{}, fmt.Errorf("retention: detecting ILM: %w", err)
	}
	switch {
	case r.status == http.StatusOK:
		var s struct {
			OperationMode string `json:"operation_mode"`
		}
		if err := json.Unmarshal(r.body, &s); err != nil {
			return ILMStatus{}, fmt.Errorf("retention: detecting ILM: GET /_ilm/status: %w", err)
		}
		return ILMStatus{Available: true, OperationMode: s.OperationMode}, nil
	case r.noHandler():
		return ILMStatus{}, nil
	}
	return ILMStatus{}, fmt.Errorf("retention: detecting ILM: %w; set retention.mode to ilm or managed to skip detection",
		r.err("GET /_ilm/status"))
}

// currentHash returns the _meta.hash of the stored object ("" when it
// carries none, i.e. was not written by flowship) and whether it exists.
func currentHash(ctx context.Context, c *elasticsearch.Client, o object) (hash string, exists bool, err error) {
	r, err := send(ctx, c, http.MethodGet, o.path, "", nil)
	if err != nil {
		return "", false, fmt.Errorf("retention: %s %q: %w", o.typ, o.name, err)
	}
	if r.status == http.StatusNotFound {
		return "", false, nil
	}
	if r.status != http.StatusOK {
		return "", false, fmt.Errorf("retention: %s %q: %w", o.typ, o.name, r.err("GET "+o.path))
	}
	h, err := hashIn(o, r.body)
	if err != nil {
		return "", false, fmt.Errorf("retention: %s %q: GET %s: unexpected answer: %w", o.typ, o.name, o.path, err)
	}
	return h, true, nil
}

// hashIn finds o's _meta.hash in the GET answer body.
func hashIn(o object, body []byte) (string, error) {
	var meta map[string]json.RawMessage
	switch o.typ {
	case TypeILMPolicy:
		res := getlifecycle.NewResponse()
		if err := json.Unmarshal(body, &res); err != nil {
			return "", err
		}
		lc, ok := res[o.name]
		if !ok {
			return "", nil
		}
		meta = lc.Policy.Meta_
	case TypeComponentTemplate:
		var res struct {
			ComponentTemplates []struct {
				Name              string `json:"name"`
				ComponentTemplate struct {
					Meta map[string]json.RawMessage `json:"_meta"`
				} `json:"component_template"`
			} `json:"component_templates"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return "", err
		}
		for _, t := range res.ComponentTemplates {
			if t.Name == o.name {
				meta = t.ComponentTemplate.Meta
			}
		}
	case TypeIndexTemplate:
		var res struct {
			IndexTemplates []struct {
				Name          string `json:"name"`
				IndexTemplate struct {
					Meta map[string]json.RawMessage `json:"_meta"`
				} `json:"index_template"`
			} `json:"index_templates"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return "", err
		}
		for _, t := range res.IndexTemplates {
			if t.Name == o.name {
				meta = t.IndexTemplate.Meta
			}
		}
	}
	var h string
	if raw, ok := meta["hash"]; ok {
		_ = json.Unmarshal(raw, &h) // a non-string hash is not ours: treat as absent
	}
	return h, nil
}
