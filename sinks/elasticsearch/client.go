package elasticsearch

import (
	"fmt"
	"net/http"

	goes "github.com/elastic/go-elasticsearch/v8"
)

// NewClient returns a go-elasticsearch client for cfg's URLs, credentials
// and TLS settings, for the callers that talk to Elasticsearch besides the
// sink: setup (templates, ILM) and managed retention. Unlike the sink's
// own client it keeps the transport's retries on.
func NewClient(cfg Config) (*goes.Client, error) {
	c, _, _, err := newClient(cfg, false)
	return c, err
}

// HTTPTransport returns the HTTP transport NewClient uses: cfg's TLS
// settings (CA file, opt-in skip-verify), no credentials. `flowship ui`
// verifies sign-ins over it and wraps it for NewClientWithTransport.
func HTTPTransport(cfg Config) (*http.Transport, error) { return httpTransport(cfg) }

// NewClientWithTransport is NewClient over rt (HTTPTransport's, possibly
// wrapped: `flowship ui` runs each query as the signed-in user that way).
func NewClientWithTransport(cfg Config, rt http.RoundTripper) (*goes.Client, error) {
	password, apiKey, err := cfg.secrets()
	if err != nil {
		return nil, err
	}
	client, err := goes.NewClient(goes.Config{Addresses: cfg.URLs, Username: cfg.Username, Password: password, APIKey: apiKey, Transport: rt})
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: creating client for %v: %w", cfg.URLs, err)
	}
	return client, nil
}

// newClient builds a client from cfg. withoutRetry turns the transport's
// retries off (the sink retries per item itself; it also compresses its
// bodies itself, see worker.do). It also returns the HTTP transport and the
// API key in use, which the sink needs for its own bookkeeping.
func newClient(cfg Config, withoutRetry bool) (*goes.Client, *http.Transport, string, error) {
	password, apiKey, err := cfg.secrets()
	if err != nil {
		return nil, nil, "", err
	}
	tr, err := httpTransport(cfg)
	if err != nil {
		return nil, nil, "", err
	}
	gc := goes.Config{
		Addresses: cfg.URLs,
		Username:  cfg.Username,
		Password:  password,
		APIKey:    apiKey,
		Transport: tr,
	}
	if withoutRetry {
		gc.DisableRetry = true // the sink retries per item, with its own backoff and logs
	}
	client, err := goes.NewClient(gc)
	if err != nil {
		return nil, nil, "", fmt.Errorf("elasticsearch: creating client for %v: %w", cfg.URLs, err)
	}
	return client, tr, apiKey, nil
}
