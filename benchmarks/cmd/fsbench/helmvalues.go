package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// chartDefaults are the collector settings of the Helm chart's
// values.yaml that bound its memory; the harness runs `flowship collect`
// a second time with them, as the DaemonSet runs it on a node.
type chartDefaults struct {
	MemoryLimit   int64  `json:"memory_limit_bytes"` // collector.resources.limits.memory → FLOWSHIP_MEMORY_LIMIT
	MemoryText    string `json:"memory_limit"`       // as written in values.yaml
	MaxOpenKeys   int    `json:"max_open_keys"`      // collector.aggregation.maxOpenKeys
	Lateness      string `json:"allowed_lateness"`   // collector.aggregation.allowedLateness; empty: flowship's default
	KafkaInflight int    `json:"kafka_max_inflight"` // collector.kafkaMaxInflightBatches
	Path          string `json:"values_file"`        // the file read
}

func (c chartDefaults) String() string {
	lateness := c.Lateness
	if lateness == "" {
		lateness = "flowship's default"
	}
	return fmt.Sprintf("resources.limits.memory %s as FLOWSHIP_MEMORY_LIMIT (flowship sets GOMEMLIMIT to 80%% of it), aggregation.max_open_keys %d, aggregation.allowed_lateness %s, kafka.max_inflight_batches %d",
		c.MemoryText, c.MaxOpenKeys, lateness, c.KafkaInflight)
}

// readChartDefaults reads the collector's memory settings from the
// chart's values.yaml.
func readChartDefaults(path string) (chartDefaults, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return chartDefaults{}, fmt.Errorf("chart values: %w", err)
	}
	var v struct {
		Collector struct {
			Aggregation struct {
				MaxOpenKeys     int    `yaml:"maxOpenKeys"`
				AllowedLateness string `yaml:"allowedLateness"`
			} `yaml:"aggregation"`
			KafkaMaxInflightBatches int `yaml:"kafkaMaxInflightBatches"`
			Resources               struct {
				Limits struct {
					Memory string `yaml:"memory"`
				} `yaml:"limits"`
			} `yaml:"resources"`
		} `yaml:"collector"`
	}
	if err := yaml.Unmarshal(raw, &v); err != nil {
		return chartDefaults{}, fmt.Errorf("chart values %s: %w", path, err)
	}
	c := v.Collector
	mem, err := parseQuantity(c.Resources.Limits.Memory)
	if err != nil {
		return chartDefaults{}, fmt.Errorf("chart values %s: collector.resources.limits.memory: %w", path, err)
	}
	if c.Aggregation.MaxOpenKeys < 1 || c.KafkaMaxInflightBatches < 1 {
		return chartDefaults{}, fmt.Errorf("chart values %s: collector.aggregation.maxOpenKeys (%d) and collector.kafkaMaxInflightBatches (%d) must be set",
			path, c.Aggregation.MaxOpenKeys, c.KafkaMaxInflightBatches)
	}
	if l := c.Aggregation.AllowedLateness; l != "" {
		if d, err := time.ParseDuration(l); err != nil || d < 0 {
			return chartDefaults{}, fmt.Errorf("chart values %s: collector.aggregation.allowedLateness %q: want a duration such as 0s or 5m", path, l)
		}
	}
	return chartDefaults{MemoryLimit: mem, MemoryText: c.Resources.Limits.Memory, MaxOpenKeys: c.Aggregation.MaxOpenKeys,
		Lateness: c.Aggregation.AllowedLateness, KafkaInflight: c.KafkaMaxInflightBatches, Path: path}, nil
}

// parseQuantity reads a Kubernetes memory quantity: a whole number of
// bytes with an optional binary (Ki, Mi, Gi, Ti) or decimal (k, M, G, T)
// suffix.
func parseQuantity(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}}
	num, mult := s, int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a memory quantity (for example 256Mi)", s)
	}
	return n * mult, nil
}
