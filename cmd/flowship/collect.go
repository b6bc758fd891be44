package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/flowship/flowship/aggregator"
	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/filetail"
	"github.com/flowship/flowship/pipeline/telemetry"
	"github.com/flowship/flowship/sinks/kafka"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// runCollect is the node agent: tailers → aggregator → Kafka writer, wired
// back to front, run in one errgroup.
func runCollect(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("collect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (YAML); defaults apply to what it leaves out")
	var fluentdPos stringList
	fs.Var(&fluentdPos, "import-fluentd-pos", "fluentd in_tail pos file to start from on first run (repeatable: flows.log.pos, l7.log.pos, dns.log.pos)")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile (go tool pprof) of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := readConfig(*configPath, SecTelemetry, SecInputs, SecAggregation, SecKafka)
	if err != nil {
		return err
	}
	if _, err := setMemoryLimit(os.LookupEnv); err != nil {
		return err
	}
	if len(fluentdPos) > 0 {
		merged, err := mergeFluentdPos(fluentdPos, stderr)
		if err != nil {
			return err
		}
		defer os.Remove(merged)
		for _, in := range []*Input{&cfg.Inputs.Flows, &cfg.Inputs.L7, &cfg.Inputs.DNS} {
			in.ImportFluentdPos = merged
		}
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	return collect(ctx, cfg, stderr)
}

// memoryLimitShare is the share of the container's memory limit that
// becomes the Go runtime's soft limit. The rest is headroom for what the
// soft limit does not count or cannot hold back: the binary's mapped
// pages, and a live heap briefly above the limit. With the limit itself
// as the soft limit, a collector draining a backlog ran at 260 MiB RSS
// under a 256 MiB GOMEMLIMIT (issue 12), which a container limit of 256
// MiB would have killed.
const memoryLimitShare = 0.8

// setMemoryLimit sets the Go runtime's soft memory limit to
// memoryLimitShare of FLOWSHIP_MEMORY_LIMIT (bytes: the DaemonSet sets it
// from the container's limits.memory with a resourceFieldRef), unless
// GOMEMLIMIT is set, which the runtime already follows. flowship collect
// leaves GOGC at Go's default: near the soft limit the runtime collects
// harder instead of letting garbage grow to twice the live heap; what the
// live heap holds is bounded by configuration (docs/operations.md,
// sizing). It returns the limit in force, 0 for none.
func setMemoryLimit(lookupEnv func(string) (string, bool)) (int64, error) {
	if _, set := lookupEnv("GOMEMLIMIT"); !set {
		if v, set := lookupEnv("FLOWSHIP_MEMORY_LIMIT"); set && v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("FLOWSHIP_MEMORY_LIMIT=%q: want the container's memory limit in bytes (a resourceFieldRef of limits.memory)", v)
			}
			debug.SetMemoryLimit(int64(float64(n) * memoryLimitShare))
		}
	}
	return softMemoryLimit(), nil
}

// softMemoryLimit returns the Go runtime's soft memory limit in bytes, 0
// for none.
func softMemoryLimit() int64 {
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		return l
	}
	return 0
}

func collect(ctx context.Context, cfg Config, logOut io.Writer) error {
	prov, err := telemetry.New(cfg.Telemetry, "collect", logOut)
	if err != nil {
		return err
	}
	tel := prov.Telemetry()
	writer, err := kafka.NewWriter(cfg.Kafka, tel)
	if err != nil {
		return err
	}
	defer writer.Close()
	agg, err := aggregator.New(aggregationConfig(cfg), tel, writer)
	if err != nil {
		return err
	}
	inputs := cfg.Inputs.Each()
	if len(inputs) == 0 && !cfg.Inputs.Hubble.Enabled {
		return errors.New("no input enabled: set inputs.<kind>.enabled: true for flows, l7, dns or hubble")
	}
	// Lines the tailers skip (longer than max_line_size) go to the same
	// dead-letter log as the lines the aggregator cannot parse.
	var deadLetter *pipeline.DeadLetterLog
	if cfg.Aggregation.DeadLetterLog != "" {
		if deadLetter, err = pipeline.OpenDeadLetterLog(cfg.Aggregation.DeadLetterLog); err != nil {
			return fmt.Errorf("aggregation.dead_letter_log: %w", err)
		}
		defer deadLetter.Close()
	}
	var tailers []*filetail.Tailer
	for _, in := range inputs {
		t, err := filetail.New(in, tel, agg)
		if err != nil {
			return fmt.Errorf("inputs.%s: %w", in.Kind, err)
		}
		t.SetDeadLetter(deadLetter)
		t.ReuseLines() // the aggregator keeps no line once Consume returned
		if err := agg.Restore(in.Kind, t.State()); err != nil {
			return fmt.Errorf("inputs.%s: restoring aggregation state from %s: %w", in.Kind, in.Resolved().PositionsFile, err)
		}
		// The aggregator hands over its state before the acks it covers, so
		// a positions file never pairs offsets with an older state; lines
		// between the offset and the state's position are skipped on replay.
		agg.OnState(in.Kind, t.SetState)
		tailers = append(tailers, t)
	}
	ht, err := hubbleTailers(cfg.Inputs.Hubble, tel, agg)
	if err != nil {
		return err
	}
	tailers = append(tailers, ht...)
	prov.AddReadyCheck("kafka", cachedCheck(5*time.Second, brokersReachable(cfg.Kafka.Brokers)))
	tel.Logger.Info("collector starting", "cluster", cfg.Cluster, "node", cfg.Node,
		"inputs", len(tailers), "brokers", strings.Join(cfg.Kafka.Brokers, ","), "gomemlimit_bytes", softMemoryLimit())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return prov.Run(gctx) })
	g.Go(func() error { return writer.Run(gctx) })
	g.Go(func() error { return agg.Run(gctx) })
	for _, t := range tailers {
		g.Go(func() error { return t.Run(gctx) })
	}
	err = g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil
	}
	tel.Logger.Info("collector stopped")
	return err
}

// aggregationConfig returns the aggregation section completed from the
// rest of the config: a max_age left at 0 becomes the kind's retention
// (retention.kinds.<kind>.retention_days), so no line is produced for a
// daily index that retention deletes (or already deleted: writing it would
// create the index again). collect and aggregate both build the aggregator
// from it, so online and offline refuse the same lines.
func aggregationConfig(cfg Config) aggregator.Config {
	ac := cfg.Aggregation
	for _, x := range []struct {
		age  *time.Duration
		kind pipeline.Kind
	}{{&ac.MaxAge.Flows, pipeline.KindFlow}, {&ac.MaxAge.L7, pipeline.KindL7}, {&ac.MaxAge.DNS, pipeline.KindDNS}} {
		if *x.age == 0 {
			*x.age = time.Duration(cfg.Retention.For(x.kind).RetentionDays) * 24 * time.Hour
		}
	}
	return ac
}

// mergeFluentdPos concatenates fluentd pos files into one temporary file:
// entries are matched by path and inode, so one file serves every input.
// A file that does not exist is skipped with a warning on stderr, so one
// DaemonSet setting serves nodes where, say, l7.log.pos was never written.
func mergeFluentdPos(paths []string, stderr io.Writer) (string, error) {
	var all []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "flowship collect: --import-fluentd-pos %s does not exist; its files start per start_at\n", p)
			continue
		}
		if err != nil {
			return "", fmt.Errorf("--import-fluentd-pos: %w", err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			b = append(b, '\n')
		}
		all = append(all, b...)
	}
	f, err := os.CreateTemp("", "flowship-fluentd-*.pos")
	if err != nil {
		return "", fmt.Errorf("--import-fluentd-pos: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(all); err != nil {
		return "", fmt.Errorf("--import-fluentd-pos: %w", err)
	}
	return filepath.Clean(f.Name()), nil
}
