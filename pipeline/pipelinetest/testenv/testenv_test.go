package testenv

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

// recorder stands in for *testing.T so that Skipf/Fatalf can be observed instead of ending the
// test. Unlike testing.T they return, so the code under test keeps going.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }
func (r *recorder) Helper()                           {}

func TestUniqueName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9-]+$`)
	cases := []struct {
		name, prefix, wantStart string
	}{
		{"plain", "flows", "flows-testuniquename-plain-"},
		{"Mixed Case/sub test#1", "IDX", "idx-testuniquename-mixed-case-sub-test-1-"},
		{"a-very-long-subtest-name-that-goes-on-and-on-and-on", "t", "t-testuniquename-a-very-long-subtest-nam"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := UniqueName(t, tc.prefix), UniqueName(t, tc.prefix)
			if a == b {
				t.Errorf("two calls gave the same name %q", a)
			}
			if !strings.HasPrefix(a, tc.wantStart) {
				t.Errorf("UniqueName = %q, want prefix %q", a, tc.wantStart)
			}
			if !valid.MatchString(a) || len(a) > len(tc.prefix)+1+maxNameTestPart+1+8 {
				t.Errorf("UniqueName = %q: not a valid topic/index name of bounded length", a)
			}
		})
	}
}

func TestESFromEnv(t *testing.T) {
	cases := []struct {
		name                  string
		env                   map[string]string // "-" value: unset
		wantURL, wantUser, pw string
	}{
		{"defaults", map[string]string{"FLOWSHIP_ES_URL": "-", "FLOWSHIP_ES_USER": "-", "FLOWSHIP_ES_PASSWORD": "-"},
			defaultESURL, defaultESUser, defaultESPassword},
		{"explicit", map[string]string{"FLOWSHIP_ES_URL": "http://h:1/", "FLOWSHIP_ES_USER": "u", "FLOWSHIP_ES_PASSWORD": "p"},
			"http://h:1", "u", "p"},
		{"empty user means no auth", map[string]string{"FLOWSHIP_ES_URL": "-", "FLOWSHIP_ES_USER": "", "FLOWSHIP_ES_PASSWORD": "ignored"},
			defaultESURL, "", "ignored"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			got := esFromEnv()
			if got.URL != tc.wantURL || got.Username != tc.wantUser || got.Password != tc.pw {
				t.Errorf("esFromEnv() = %+v, want {%s %s %s}", got, tc.wantURL, tc.wantUser, tc.pw)
			}
		})
	}
}

func TestKafkaBrokersAbsent(t *testing.T) {
	cases := []struct {
		name     string
		ci       string
		wantSkip bool
	}{
		{"local run skips", "", true},
		{"CI fails", "true", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Port 1 on loopback: nothing listens there, the dial is refused at once.
			setEnv(t, map[string]string{"CI": tc.ci, "FLOWSHIP_KAFKA_BROKERS": "127.0.0.1:1"})
			r := &recorder{TB: t}
			KafkaBrokers(r)
			got := r.skip
			if !tc.wantSkip {
				got = r.fatal
			}
			if got == "" || !strings.Contains(got, "127.0.0.1:1") || !strings.Contains(got, "services.sh up") {
				t.Errorf("skip=%q fatal=%q: want a %s naming the address and how to start Kafka", r.skip, r.fatal, map[bool]string{true: "skip", false: "failure"}[tc.wantSkip])
			}
			if tc.wantSkip && r.fatal != "" || !tc.wantSkip && r.skip != "" {
				t.Errorf("skip=%q fatal=%q: wrong kind of outcome", r.skip, r.fatal)
			}
		})
	}
}

func TestElasticsearchHealth(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		wantFatal string
	}{
		{"healthy", http.StatusOK, ""},
		{"bad credentials", http.StatusUnauthorized, "rejected user"},
		{"unhealthy", http.StatusRequestTimeout, "not healthy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var gotUser, gotPath string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotUser, _, _ = r.BasicAuth()
				gotPath = r.URL.Path
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			setEnv(t, map[string]string{"CI": "true", "FLOWSHIP_ES_URL": srv.URL, "FLOWSHIP_ES_USER": "alice", "FLOWSHIP_ES_PASSWORD": "secret"})
			r := &recorder{TB: t}
			es := Elasticsearch(r)
			if tc.wantFatal == "" && (r.fatal != "" || es.URL != srv.URL || es.Username != "alice") {
				t.Errorf("Elasticsearch() = %+v, fatal %q; want the server's location and no failure", es, r.fatal)
			}
			if tc.wantFatal != "" && !strings.Contains(r.fatal, tc.wantFatal) {
				t.Errorf("fatal = %q, want it to contain %q", r.fatal, tc.wantFatal)
			}
			if gotUser != "alice" || gotPath != "/_cluster/health" {
				t.Errorf("server saw user %q path %q, want alice on /_cluster/health", gotUser, gotPath)
			}
		})
	}
}

func TestElasticsearchAbsentUnderCI(t *testing.T) {
	setEnv(t, map[string]string{"CI": "true", "FLOWSHIP_ES_URL": "http://127.0.0.1:1"})
	r := &recorder{TB: t}
	Elasticsearch(r)
	if !strings.Contains(r.fatal, "http://127.0.0.1:1") || r.skip != "" {
		t.Errorf("fatal=%q skip=%q: want a CI failure naming the URL", r.fatal, r.skip)
	}
}

// setEnv sets (or, for the value "-", unsets) variables for the duration of t.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v) // registers the restore even when we unset next
		if v == "-" {
			if err := os.Unsetenv(k); err != nil {
				t.Fatal(err)
			}
		}
	}
}
