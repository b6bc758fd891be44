package synth

import (
	"errors"
	"fmt"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// Config describes the simulated cluster and what Felix writes for it.
// Every field's zero value is invalid except where noted; start from
// DefaultConfig.
type Config struct {
	// Seed makes the output reproducible: the same Config gives
	// byte-identical lines. Default 1.
	Seed uint64 `yaml:"seed"`
	// Namespaces in the cluster (kube-system is always one). Default 20.
	Namespaces int `yaml:"namespaces"`
	// Workloads across the namespaces: Deployments, StatefulSets,
	// DaemonSets and CronJob Jobs. Default 200.
	Workloads int `yaml:"workloads"`
	// MaxPodsPerWorkload bounds the replicas of a Deployment or
	// StatefulSet; a DaemonSet has one pod per node. Default 4.
	MaxPodsPerWorkload int `yaml:"max_pods_per_workload"`
	// Nodes in the cluster, at most 250. Default 10.
	Nodes int `yaml:"nodes"`
	// DenyRatio is the share of conversations denied by policy. Default 0.1.
	DenyRatio float64 `yaml:"deny_ratio"`
	// ExternalShare is the share of conversations with endpoints outside
	// the cluster (pub and pvt networks). Default 0.15.
	ExternalShare float64 `yaml:"external_share"`
	// StagedShare is the share of conversations whose trace holds a staged
	// policy. Default 0.05.
	StagedShare float64 `yaml:"staged_share"`
	// FlowsPerWindow is the connections (level-0 lines) per flush window;
	// at higher levels Felix merges them into fewer lines. Default 1000.
	FlowsPerWindow int `yaml:"flows_per_window"`
	// L7PerWindow and DNSPerWindow are the lines per window. Default 200 each.
	L7PerWindow  int `yaml:"l7_per_window"`
	DNSPerWindow int `yaml:"dns_per_window"`
	// Window is Felix's flush interval. Default 300s.
	Window time.Duration `yaml:"window"`
	// Jitter varies each window by up to ±10% as Felix does. Default off,
	// so windows are aligned.
	Jitter bool `yaml:"jitter"`
	// Start is the start of the first window. Default 2025-06-10T08:00:00Z.
	Start time.Time `yaml:"start"`
	// Windows to generate; 0 means until the context ends (Run) or until
	// the requested lines are written. Default 1.
	Windows int `yaml:"windows"`
	// Level is the Felix aggregation level (0..3) for allowed and denied
	// flows. Default 0, so downstream aggregation has work to do.
	Level int `yaml:"level"`
	// FelixDefaultLevels writes allowed flows at level 2 and denied at 1,
	// Felix's defaults, instead of Level.
	FelixDefaultLevels bool `yaml:"felix_default_levels"`
	// IncludeLabels, IncludePolicies and IncludeService fill the fields the
	// Calico operator turns on. Default on.
	IncludeLabels   bool `yaml:"include_labels"`
	IncludePolicies bool `yaml:"include_policies"`
	IncludeService  bool `yaml:"include_service"`
	// RotateSize is the size at which a file is rotated (renamed to
	// <name>-<time>.log, lumberjack style). Default 100MiB.
	RotateSize pipeline.ByteSize `yaml:"rotate_size"`
	// MaxBackups keeps at most this many rotated files per kind, deleting
	// the oldest (Felix keeps 5). Default 0: keep all.
	MaxBackups int `yaml:"max_backups"`
	// SplitChunks writes through a 64KiB buffer the way Felix does, so a
	// rotation can cut a line in two (spec §1.2). Default off: files
	// rotate on line boundaries.
	SplitChunks bool `yaml:"split_chunks"`
	// Kinds to write (Run and Stream); empty means flows, l7 and dns.
	Kinds []pipeline.Kind `yaml:"kinds"`
	// MaxLines stops each kind after this many lines (Run and Stream);
	// 0 means no limit. With Windows 0 and MaxLines 0, Run goes on until
	// its context ends.
	MaxLines int `yaml:"max_lines"`
	// Rate limits the lines written per second over all kinds; 0 writes
	// each window as one burst, as fast as possible. Default 0.
	Rate float64 `yaml:"rate"`
}

// DefaultConfig returns a 20-namespace, 200-workload, 10-node cluster
// writing one 300 s window at level 0.
func DefaultConfig() Config {
	return Config{
		Seed:               1,
		Namespaces:         20,
		Workloads:          200,
		MaxPodsPerWorkload: 4,
		Nodes:              10,
		DenyRatio:          0.1,
		ExternalShare:      0.15,
		StagedShare:        0.05,
		FlowsPerWindow:     1000,
		L7PerWindow:        200,
		DNSPerWindow:       200,
		Window:             300 * time.Second,
		Start:              time.Date(2025, 6, 10, 8, 0, 0, 0, time.UTC),
		Windows:            1,
		IncludeLabels:      true,
		IncludePolicies:    true,
		IncludeService:     true,
		RotateSize:         100 << 20,
	}
}

// Validate reports every invalid field, naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, msg string, args ...any) {
		errs = append(errs, fmt.Errorf("synth.%s: "+msg, append([]any{key}, args...)...))
	}
	rng := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			bad(key, "%d must be between %d and %d", v, lo, hi)
		}
	}
	share := func(key string, v float64) {
		if v < 0 || v > 1 {
			bad(key, "%v must be between 0 and 1", v)
		}
	}
	rng("namespaces", c.Namespaces, 1, 10000)
	rng("workloads", c.Workloads, 1, 100000)
	rng("max_pods_per_workload", c.MaxPodsPerWorkload, 1, 1000)
	rng("nodes", c.Nodes, 1, 250)
	rng("flows_per_window", c.FlowsPerWindow, 0, 10_000_000)
	rng("l7_per_window", c.L7PerWindow, 0, 10_000_000)
	rng("dns_per_window", c.DNSPerWindow, 0, 10_000_000)
	rng("windows", c.Windows, 0, 1_000_000)
	rng("level", c.Level, 0, 3)
	rng("max_backups", c.MaxBackups, 0, 100000)
	share("deny_ratio", c.DenyRatio)
	share("external_share", c.ExternalShare)
	share("staged_share", c.StagedShare)
	if c.Window < time.Second {
		bad("window", "%v must be at least 1s", c.Window)
	}
	if c.Start.IsZero() {
		bad("start", "must be set (RFC 3339)")
	}
	if c.RotateSize < 4096 {
		bad("rotate_size", "%v must be at least 4KiB", c.RotateSize)
	}
	for _, k := range c.Kinds {
		if !k.Valid() {
			bad("kinds", "%q is not one of flows, l7, dns", k)
		}
	}
	if c.MaxLines < 0 {
		bad("max_lines", "%d must not be negative", c.MaxLines)
	}
	if c.Rate < 0 {
		bad("rate", "%v must not be negative", c.Rate)
	}
	return errors.Join(errs...)
}
