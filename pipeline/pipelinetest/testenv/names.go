package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
)

// maxNameTestPart bounds the part of a UniqueName taken from the test name.
const maxNameTestPart = 40

// UniqueName returns a name for a topic, index or consumer group that no other test (or run)
// uses: "<prefix>-<test name>-<8 hex>", lower case, only [a-z0-9-] after the prefix, so it is
// valid both as a Kafka topic and as an Elasticsearch index name. The prefix is lower-cased.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	var b strings.Builder
	dash := true // collapse runs of separators and drop leading ones
	for _, r := range strings.ToLower(t.Name()) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= maxNameTestPart {
			break
		}
	}
	part := strings.Trim(b.String(), "-")
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("testenv.UniqueName: reading random bytes: %v", err)
	}
	name := strings.ToLower(prefix)
	if part != "" {
		name += "-" + part
	}
	return name + "-" + hex.EncodeToString(rnd[:])
}

// ESClient returns a go-elasticsearch v8 client for the node from Elasticsearch(t), with its
// credentials; it skips or fails t the same way when the node is absent.
func ESClient(t testing.TB) *elasticsearch.Client {
	t.Helper()
	es := Elasticsearch(t)
	c, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: []string{es.URL},
		Username:  es.Username,
		Password:  es.Password,
	})
	if err != nil {
		t.Fatalf("testenv.ESClient: %v", err)
	}
	return c
}
