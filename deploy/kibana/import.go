package kibana

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// Result is what a successful import reports.
type Result struct {
	// Imported is Kibana's successCount: objects created or overwritten.
	Imported int
	// Sent is the number of objects in the uploaded NDJSON.
	Sent int
}

// ObjectError is one object Kibana refused.
type ObjectError struct {
	Type  string // saved-object type, e.g. "visualization"
	ID    string
	Title string
	// Reason is Kibana's error type ("missing_references", "conflict",
	// "unsupported_type", "unknown") with its details.
	Reason string
}

// ImportError is returned when Kibana answered but refused some objects.
// The objects it did not list were imported.
type ImportError struct {
	Imported int
	Objects  []ObjectError
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kibana: import refused %d object(s) (%d imported):", len(e.Objects), e.Imported)
	for _, o := range e.Objects {
		fmt.Fprintf(&b, " %s %q (%s): %s;", o.Type, o.ID, o.Title, o.Reason)
	}
	b.WriteString(" check the Kibana version (8.x required) and that the objects come from kibana.Objects()")
	return b.String()
}

// importBackoff spaces the attempts: 1s, 2s, 4s, 8s, 10s... (jittered),
// about 30s over the default 6 attempts, enough for Kibana to start.
var importBackoff = pipeline.Backoff{Initial: time.Second, Max: 10 * time.Second}

// importPath is the saved-objects import endpoint, relative to the URL and
// optional space.
const importPath = "/api/saved_objects/_import?overwrite=true"

// Import uploads objects (NDJSON, as from Objects or WithIndexPatterns) to
// Kibana's saved-objects import API with overwrite=true, so running it
// again updates the objects in place. It retries, with backoff, while
// Kibana is unreachable or answers 429 or 5xx, up to cfg.Attempts. A
// refused object yields an *ImportError naming it; authentication and
// other 4xx failures are returned at once.
func Import(ctx context.Context, cfg Config, objects []byte) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	req, err := newRequestTemplate(cfg, objects)
	if err != nil {
		return Result{}, err
	}
	client, err := httpClient(cfg)
	if err != nil {
		return Result{}, err
	}
	defer client.CloseIdleConnections()

	var res Result
	b := importBackoff
	b.MaxAttempts = cfg.Attempts
	err = pipeline.Retry(ctx, b, func(ctx context.Context) error {
		var err error
		res, err = req.do(ctx, client, cfg.Timeout)
		return err
	}, nil)
	if err != nil {
		return Result{}, err
	}
	res.Sent = countObjects(objects)
	return res, nil
}

// requestTemplate holds everything needed to send the import again.
type requestTemplate struct {
	url         string
	auth        string // Authorization header value, "" for none
	contentType string
	body        []byte
}

func newRequestTemplate(cfg Config, objects []byte) (*requestTemplate, error) {
	if countObjects(objects) == 0 {
		return nil, errors.New("kibana: no objects to import")
	}
	auth, err := authorization(cfg)
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	// Kibana accepts only a file named *.ndjson.
	fw, err := mw.CreateFormFile("file", "flowship.ndjson")
	if err != nil {
		return nil, fmt.Errorf("kibana: building request: %w", err)
	}
	if _, err := fw.Write(objects); err != nil {
		return nil, fmt.Errorf("kibana: building request: %w", err)
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("kibana: building request: %w", err)
	}
	base := strings.TrimRight(cfg.URL, "/")
	if cfg.Space != "" && cfg.Space != "default" {
		base += "/s/" + cfg.Space
	}
	return &requestTemplate{
		url: base + importPath, auth: auth,
		contentType: mw.FormDataContentType(), body: body.Bytes(),
	}, nil
}

func authorization(cfg Config) (string, error) {
	switch {
	case cfg.Username != "":
		pw, err := readSecret("kibana.password_file", cfg.PasswordFile, "kibana.password_env", cfg.PasswordEnv)
		if err != nil {
			return "", err
		}
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+pw)), nil
	case cfg.APIKeyFile != "" || cfg.APIKeyEnv != "":
		key, err := readSecret("kibana.api_key_file", cfg.APIKeyFile, "kibana.api_key_env", cfg.APIKeyEnv)
		if err != nil {
			return "", err
		}
		return "ApiKey " + strings.TrimSpace(key), nil
	}
	return "", nil
}

func httpClient(cfg Config) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kibana.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kibana.ca_file: %s holds no PEM certificate", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}, nil
}

// do sends one import request and classifies the outcome: nil, a
// retryable error, or a *pipeline.Permanent.
func (t *requestTemplate) do(ctx context.Context, client *http.Client, timeout time.Duration) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return Result{}, &pipeline.Permanent{Err: fmt.Errorf("kibana: %w", err)}
	}
	req.Header.Set("Content-Type", t.contentType)
	req.Header.Set("kbn-xsrf", "true")
	if t.auth != "" {
		req.Header.Set("Authorization", t.auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("kibana: POST %s: %w; check kibana.url and that Kibana is running", t.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return Result{}, fmt.Errorf("kibana: reading the import response: %w", err)
	}
	return classify(resp.StatusCode, body, t.url)
}

// classify turns an HTTP answer into a Result or an error.
func classify(status int, body []byte, u string) (Result, error) {
	msg := responseMessage(body)
	switch {
	case status == http.StatusUnauthorized:
		return Result{}, &pipeline.Permanent{Err: fmt.Errorf("kibana: 401 unauthorized at %s: %s; check kibana.username and the password, or the API key", u, msg)}
	case status == http.StatusForbidden:
		return Result{}, &pipeline.Permanent{Err: fmt.Errorf("kibana: 403 forbidden at %s: %s; the user needs the saved-objects management privilege in this space", u, msg)}
	case status == http.StatusNotFound:
		return Result{}, &pipeline.Permanent{Err: fmt.Errorf("kibana: 404 at %s: %s; check kibana.url (base path) and that kibana.space exists", u, msg)}
	case status == http.StatusTooManyRequests || status >= 500:
		return Result{}, fmt.Errorf("kibana: %d at %s: %s", status, u, msg)
	case status != http.StatusOK:
		return Result{}, &pipeline.Permanent{Err: fmt.Errorf("kibana: %d at %s: %s", status, u, msg)}
	}
	return parseImportResponse(body)
}

// importResponse is the body of a 200 answer.
type importResponse struct {
	Success      *bool `json:"success"`
	SuccessCount int   `json:"successCount"`
	Errors       []struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		Title string `json:"title"`
		Meta  struct {
			Title string `json:"title"`
		} `json:"meta"`
		Error json.RawMessage `json:"error"`
	} `json:"errors"`
}

func parseImportResponse(body []byte) (Result, error) {
	var r importResponse
	if err := json.Unmarshal(body, &r); err != nil || r.Success == nil {
		return Result{}, &pipeline.Permanent{Err: fmt.Errorf("kibana: the import answer is not a saved-objects import result (%.200q); is kibana.url pointing at Kibana?", body)}
	}
	if *r.Success && len(r.Errors) == 0 {
		return Result{Imported: r.SuccessCount}, nil
	}
	ie := &ImportError{Imported: r.SuccessCount}
	for _, e := range r.Errors {
		title := e.Title
		if title == "" {
			title = e.Meta.Title
		}
		ie.Objects = append(ie.Objects, ObjectError{Type: e.Type, ID: e.ID, Title: title, Reason: errorReason(e.Error)})
	}
	if len(ie.Objects) == 0 {
		ie.Objects = []ObjectError{{Reason: "Kibana reported failure without naming an object"}}
	}
	return Result{}, &pipeline.Permanent{Err: ie}
}

// errorReason renders one entry's "error" object: its type plus the
// missing references or message.
func errorReason(raw json.RawMessage) string {
	var e struct {
		Type       string `json:"type"`
		Message    string `json:"message"`
		References []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"references"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Type == "" {
		return strings.TrimSpace(string(raw))
	}
	parts := []string{e.Type}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	for _, r := range e.References {
		parts = append(parts, "needs "+r.Type+" "+r.ID)
	}
	return strings.Join(parts, ", ")
}

// responseMessage extracts Kibana's {"message": ...} or a short body.
func responseMessage(body []byte) string {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && (e.Message != "" || e.Error != "") {
		return strings.TrimSpace(e.Error + " " + e.Message)
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "empty body"
	}
	return s
}

// countObjects counts the non-blank lines of an NDJSON document.
func countObjects(objects []byte) int {
	n := 0
	for line := range bytes.Lines(objects) {
		if len(bytes.TrimSpace(line)) > 0 {
			n++
		}
	}
	return n
}
