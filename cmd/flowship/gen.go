package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema/synth"
)

// runGen writes synthetic Felix/Envoy/DNS logs (package synth) into a
// directory laid out like /var/log/calico, or to stdout.
func runGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := synth.DefaultConfig()
	fs := flag.NewFlagSet("flowship gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "-", "directory to write flowlogs/flows.log, l7logs/l7.log, dnslogs/dns.log into, or - for stdout")
	kind := fs.String("kind", "all", "which logs: flows, l7, dns or all; or hubble (a Cilium Hubble exporter file) or goldmane (Goldmane emitter NDJSON)")
	lines := fs.Int("lines", 0, "stop each kind after this many lines (0: no limit)")
	windows := fs.Int("windows", -1, "flush windows to generate (default 1, or unlimited with --lines; 0: until interrupted)")
	start := fs.String("start", cfg.Start.Format(time.RFC3339), "start of the first window, RFC 3339")
	rotate := fs.String("rotate-size", cfg.RotateSize.String(), "rotate files at this size, e.g. 100MiB (hubble: default 10MiB, the exporter's)")
	fs.IntVar(&cfg.MaxBackups, "max-backups", cfg.MaxBackups, "keep at most this many rotated files per kind (0: all; hubble: default 5, the exporter's)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed; the same flags give byte-identical output")
	fs.IntVar(&cfg.Namespaces, "namespaces", cfg.Namespaces, "namespaces in the simulated cluster")
	fs.IntVar(&cfg.Workloads, "workloads", cfg.Workloads, "workloads (Deployments, StatefulSets, DaemonSets, Jobs)")
	fs.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "nodes (1..250)")
	fs.Float64Var(&cfg.DenyRatio, "deny-ratio", cfg.DenyRatio, "share of denied conversations (0..1)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "lines per second over all kinds (0: as fast as possible)")
	fs.IntVar(&cfg.Level, "level", cfg.Level, "Felix aggregation level 0..3 for allowed and denied flows")
	fs.BoolVar(&cfg.FelixDefaultLevels, "felix-levels", false, "use Felix's default levels (allowed 2, denied 1) instead of --level")
	fs.IntVar(&cfg.FlowsPerWindow, "flows-per-window", cfg.FlowsPerWindow, "connections per window (level-0 flow lines)")
	fs.BoolVar(&cfg.Jitter, "jitter", false, "vary window lengths by ±10% as Felix does")
	fs.BoolVar(&cfg.SplitChunks, "split-chunks", false, "write 64KiB chunks like Felix, so rotation can cut a line")
	fs.BoolVar(&cfg.IncludeLabels, "labels", cfg.IncludeLabels, "fill source_labels and dest_labels (the operator's flowLogsFileIncludeLabels); false writes null, Felix's own default")
	fs.BoolVar(&cfg.IncludePolicies, "policies", cfg.IncludePolicies, "fill the policy traces (the operator's flowLogsFileIncludePolicies); false writes null, Felix's own default")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q; all options are flags, see 'flowship gen -h'", fs.Arg(0))}
	}
	if *kind == sourceHubble || *kind == sourceGoldmane {
		rot := hubbleRotation{size: 10 << 20, backups: 5} // Cilium's hubble-export-file-max-size-mb and -max-backups defaults
		var err error
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "rotate-size":
				var sz pipeline.ByteSize
				if sz, err = pipeline.ParseByteSize(*rotate); err != nil || sz < 1024 {
					err = usageError{fmt.Sprintf("--rotate-size %q: want a size of at least 1KiB", *rotate)}
				}
				rot.size = int64(sz)
			case "max-backups":
				rot.backups = cfg.MaxBackups
				if rot.backups < 0 {
					err = usageError{"--max-backups: must not be negative"}
				}
			}
		})
		if err != nil {
			return err
		}
		return genSource(*kind, *out, cfg.Seed, *start, *lines, *windows, cfg.FlowsPerWindow, rot, stdout, stderr)
	}
	if err := genFlags(&cfg, *kind, *lines, *windows, *start, *rotate); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	began := time.Now()
	g := synth.New(cfg)
	var st synth.Stats
	var err error
	if *out == "-" {
		st, err = g.Stream(ctx, stdout)
	} else {
		st, err = g.Run(ctx, *out)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	printGenSummary(stderr, cfg, st, *out, time.Since(began))
	return nil
}

// genFlags applies the flags that need parsing to cfg.
func genFlags(cfg *synth.Config, kind string, lines, windows int, start, rotate string) error {
	switch kind {
	case "all":
		cfg.Kinds = nil
	case string(pipeline.KindFlow), string(pipeline.KindL7), string(pipeline.KindDNS):
		cfg.Kinds = []pipeline.Kind{pipeline.Kind(kind)}
	default:
		return usageError{fmt.Sprintf("--kind %q: want flows, l7, dns or all", kind)}
	}
	if lines < 0 {
		return usageError{fmt.Sprintf("--lines %d: must not be negative", lines)}
	}
	cfg.MaxLines = lines
	switch {
	case windows >= 0:
		cfg.Windows = windows
	case lines > 0:
		cfg.Windows = 0
	}
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return usageError{fmt.Sprintf("--start %q: want RFC 3339, e.g. 2025-06-10T08:00:00Z", start)}
	}
	cfg.Start = t
	size, err := pipeline.ParseByteSize(rotate)
	if err != nil {
		return usageError{"--rotate-size: " + err.Error()}
	}
	cfg.RotateSize = size
	return nil
}

func printGenSummary(w io.Writer, cfg synth.Config, st synth.Stats, out string, took time.Duration) {
	kinds := cfg.Kinds
	if len(kinds) == 0 {
		kinds = pipeline.Kinds
	}
	var parts []string
	for _, k := range kinds {
		p := fmt.Sprintf("%s %d lines (%.1fMiB)", k, st.Lines[k], float64(st.Bytes[k])/(1<<20))
		if st.Rotations[k] > 0 {
			p += fmt.Sprintf(", %d rotations", st.Rotations[k])
		}
		parts = append(parts, p)
	}
	dest := "stdout"
	if out != "-" {
		dest = out
	}
	fmt.Fprintf(w, "flowship gen: %d windows of %v from %s, seed %d: %s; to %s in %v\n",
		st.Windows, cfg.Window, cfg.Start.UTC().Format(time.RFC3339), cfg.Seed, strings.Join(parts, ", "),
		dest, took.Round(time.Millisecond))
}
