package telemetry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"disabled listener", func(c *Config) { c.Listen = "" }, ""},
		{"bad level", func(c *Config) { c.LogLevel = "loud" }, "telemetry.log_level"},
		{"bad format", func(c *Config) { c.LogFormat = "xml" }, "telemetry.log_format"},
		{"bad listen", func(c *Config) { c.Listen = "9464" }, "telemetry.listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mutate(&c)
			err := c.Validate()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v does not name %q", err, tc.wantErr)
			}
		})
	}
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestEndpoints(t *testing.T) {
	var logs bytes.Buffer
	p, err := New(DefaultConfig(), "test", &logs)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Telemetry().Meter.Int64Counter("flowship_test_lines_read_total")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(context.Background(), 3)
	h, err2 := p.Telemetry().Meter.Float64Histogram("flowship_test_write_latency_seconds")
	if err2 != nil {
		t.Fatal(err2)
	}
	h.Record(context.Background(), 0.5)

	code, body := get(t, p.Handler(), "/metrics")
	if code != 200 || !strings.Contains(body, "flowship_test_lines_read_total 3") {
		t.Fatalf("/metrics = %d\n%s", code, body)
	}
	if strings.Contains(body, "_total_total") || strings.Contains(body, "seconds_seconds") {
		t.Fatalf("metric names got doubled suffixes:\n%s", body)
	}
	if code, _ := get(t, p.Handler(), "/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	if code, _ := get(t, p.Handler(), "/readyz"); code != 200 {
		t.Fatalf("/readyz with no checks = %d", code)
	}
	p.AddReadyCheck("kafka", func() error { return errors.New("brokers unreachable") })
	code, body = get(t, p.Handler(), "/readyz")
	if code != 503 || !strings.Contains(body, "kafka: brokers unreachable") {
		t.Fatalf("/readyz = %d %q", code, body)
	}
	p.Telemetry().Logger.Info("hello", "k", "v")
	if !strings.Contains(logs.String(), `"msg":"hello"`) || !strings.Contains(logs.String(), `"service":"test"`) {
		t.Fatalf("log not JSON with service: %s", logs.String())
	}
}
