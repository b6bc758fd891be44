package filetail

import (
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
)

func TestDefaultConfigIsValid(t *testing.T) {
	for _, k := range pipeline.Kinds {
		c := DefaultConfig()
		c.Kind = k
		c = c.Resolved()
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", k, err)
		}
		if len(c.Paths) != 2 || !isLivePattern(c.Paths[0]) || isLivePattern(c.Paths[1]) {
			t.Errorf("%s: default paths %v want a live file and a rotated glob", k, c.Paths)
		}
		if !strings.Contains(c.PositionsFile, string(k)) {
			t.Errorf("%s: positions file %s does not name the kind", k, c.PositionsFile)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		key  string
	}{
		{"kind", func(c *Config) { c.Kind = "waf" }, "filetail.kind"},
		{"relative path", func(c *Config) { c.Paths = []string{"flows.log"} }, "filetail.paths"},
		{"bad glob", func(c *Config) { c.Paths = []string{"/x/[a"} }, "filetail.paths"},
		{"start_at", func(c *Config) { c.StartAt = "middle" }, "filetail.start_at"},
		{"max_line_size", func(c *Config) { c.MaxLineSize = 10 }, "filetail.max_line_size"},
		{"batch_lines", func(c *Config) { c.BatchLines = 0 }, "filetail.batch_lines"},
		{"batch_bytes", func(c *Config) { c.BatchBytes = 0 }, "filetail.batch_bytes"},
		{"linger", func(c *Config) { c.Linger = -time.Second }, "filetail.linger"},
		{"max_inflight_batches", func(c *Config) { c.MaxInflightBatches = 0 }, "filetail.max_inflight_batches"},
		{"positions_interval", func(c *Config) { c.PositionsInterval = 0 }, "filetail.positions_interval"},
		{"poll_interval", func(c *Config) { c.PollInterval = 0 }, "filetail.poll_interval"},
		{"max_open_files", func(c *Config) { c.MaxOpenFiles = 0 }, "filetail.max_open_files"},
		{"drain_timeout", func(c *Config) { c.DrainTimeout = -1 }, "filetail.drain_timeout"},
		{"same pos files", func(c *Config) { c.FluentdPosFile = c.PositionsFile }, "filetail.fluentd_pos_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig().Resolved()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.key+":") {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.key)
			}
		})
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	c := DefaultConfig()
	c.BatchLines = -1
	if _, err := New(c, pipeline.NopTelemetry(), nil); err == nil {
		t.Fatal("New accepted an invalid config")
	}
}
