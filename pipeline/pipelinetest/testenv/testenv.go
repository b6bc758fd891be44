// Package testenv hands integration tests the real services started by
// deploy/local/services.sh: an Apache Kafka broker and an Elasticsearch node.
//
// Integration tests carry the build tag `integration` and get their services only through this
// package. Every test that talks to Kafka has "Kafka" in its name (make test re-runs
// `-run Kafka` against a second Kafka version). Locations come from the environment that
// `services.sh env` prints:
//
//	FLOWSHIP_KAFKA_BROKERS   comma-separated host:port (default 127.0.0.1:9092)
//	FLOWSHIP_KAFKA_VERSION   version of the running broker, e.g. 4.1.2 (informational)
//	FLOWSHIP_ES_URL          default http://127.0.0.1:9200
//	FLOWSHIP_ES_USER         default flowship when unset; set and empty means no auth
//	FLOWSHIP_ES_PASSWORD     default flowship-test-password when FLOWSHIP_ES_USER is unset
//
// When a service is not reachable the test is skipped with a loud message, or fails when the
// environment has CI=true, so a CI run can never pass by skipping.
package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// StartHint is the command that starts the services, quoted in every skip or failure message.
const StartHint = "bash deploy/local/services.sh up && eval \"$(bash deploy/local/services.sh env)\""

const (
	defaultBrokers    = "127.0.0.1:9092"
	defaultESURL      = "http://127.0.0.1:9200"
	defaultESUser     = "flowship"
	defaultESPassword = "flowship-test-password"
	dialTimeout       = 2 * time.Second
	healthTimeout     = 10 * time.Second
)

// ES locates the Elasticsearch node. Username and Password are empty when it runs without
// security.
type ES struct {
	URL      string
	Username string
	Password string
}

// KafkaBrokers returns the broker addresses after checking that at least one accepts TCP
// connections; otherwise it skips t (fails it under CI=true).
func KafkaBrokers(t testing.TB) []string {
	t.Helper()
	brokers := splitList(envOr("FLOWSHIP_KAFKA_BROKERS", defaultBrokers))
	var errs []string
	for _, b := range brokers {
		c, err := net.DialTimeout("tcp", b, dialTimeout)
		if err == nil {
			_ = c.Close()
			return brokers
		}
		errs = append(errs, err.Error())
	}
	absent(t, "Kafka", "not reachable at "+strings.Join(brokers, ",")+" ("+strings.Join(errs, "; ")+")")
	return nil
}

// KafkaVersion returns FLOWSHIP_KAFKA_VERSION (the version services.sh started), or "" when
// unknown.
func KafkaVersion() string {
	return os.Getenv("FLOWSHIP_KAFKA_VERSION")
}

// Elasticsearch returns the node's location after checking that its cluster health is at least
// yellow; a node that is absent skips t (fails it under CI=true), and one that rejects the
// credentials or is unhealthy fails t.
func Elasticsearch(t testing.TB) ES {
	t.Helper()
	es := esFromEnv()
	status, body, err := clusterHealth(es)
	switch {
	case err != nil:
		absent(t, "Elasticsearch", "not reachable at "+es.URL+" ("+err.Error()+")")
	case status == http.StatusUnauthorized:
		t.Fatalf("Elasticsearch at %s rejected user %q (401): set FLOWSHIP_ES_USER/FLOWSHIP_ES_PASSWORD from `bash deploy/local/services.sh env`", es.URL, es.Username)
	case status != http.StatusOK:
		t.Fatalf("Elasticsearch at %s is not healthy (GET _cluster/health: HTTP %d %s); see `bash deploy/local/services.sh logs es`", es.URL, status, body)
	}
	return es
}

func esFromEnv() ES {
	es := ES{URL: strings.TrimRight(envOr("FLOWSHIP_ES_URL", defaultESURL), "/")}
	if user, ok := os.LookupEnv("FLOWSHIP_ES_USER"); ok {
		es.Username, es.Password = user, os.Getenv("FLOWSHIP_ES_PASSWORD")
	} else {
		es.Username, es.Password = defaultESUser, envOr("FLOWSHIP_ES_PASSWORD", defaultESPassword)
	}
	return es
}

// clusterHealth asks for yellow health; err is set only when no HTTP answer came back.
func clusterHealth(es ES) (status int, body string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	url := es.URL + "/_cluster/health?wait_for_status=yellow&timeout=5s"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if es.Username != "" {
		req.SetBasicAuth(es.Username, es.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, string(b), nil
}

var banner sync.Once

// absent skips (or, under CI=true, fails) a test whose service is missing.
func absent(t testing.TB, service, why string) {
	t.Helper()
	msg := fmt.Sprintf("%s is %s; run `%s`", service, why, StartHint)
	if os.Getenv("CI") == "true" {
		t.Fatalf("integration test cannot run: %s (CI=true: failing instead of skipping)", msg)
		return
	}
	banner.Do(func() {
		fmt.Fprintf(os.Stderr, "\n!!!! SKIPPING integration tests: %s !!!!\n\n", msg)
	})
	t.Skipf("SKIPPING integration test: %s", msg)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
