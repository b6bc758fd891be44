package elasticsearch

import (
	"fmt"

	goes "github.com/elastic/go-elasticsearch/v8"
)

// NewClient returns a go-elasticsearch client for cfg's URLs, credentials
// and TLS settings, for the callers that talk to Elasticsearch besides the
// sink: setup (templates, ILM) and managed retention. Unlike the sink's
// own client it keeps the transport's retries on.
func NewClient(cfg Config) (*goes.Client, error) {
	password, apiKey, err := cfg.secrets()
	if err != nil {
		return nil, err
	}
	tr, err := httpTransport(cfg)
	if err != nil {
		return nil, err
	}
	client, err := goes.NewClient(goes.Config{
		Addresses: cfg.URLs,
		Username:  cfg.Username,
		Password:  password,
		APIKey:    apiKey,
		Transport: tr,
	})
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: creating client for %v: %w", cfg.URLs, err)
	}
	return client, nil
}
