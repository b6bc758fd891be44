package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// runCheck validates a configuration file without starting anything:
// strict keys, types, units, filter rules, and each section's own rules.
func runCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file to validate (required)")
	forCmd := fs.String("for", "all", "validate the sections one subcommand uses: collect, index, setup, receive or all")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *configPath == "" {
		return usageError{"--config is required"}
	}
	sections, ok := sectionsFor[*forCmd]
	if !ok {
		return usageError{fmt.Sprintf("--for %q: want collect, index, setup, receive or all", *forCmd)}
	}
	cfg, err := readConfig(*configPath, sections...)
	if err != nil {
		return err
	}
	var kinds []string
	for _, in := range cfg.Inputs.Each() {
		kinds = append(kinds, string(in.Kind))
	}
	fmt.Fprintf(stdout, "%s: ok (cluster %q, node %q, inputs [%s], levels allowed=%d denied=%d, window %s, %d filter rules)\n",
		*configPath, cfg.Cluster, cfg.Node, strings.Join(kinds, " "),
		cfg.Aggregation.Levels.Allowed, cfg.Aggregation.Levels.Denied, cfg.Aggregation.Window, len(cfg.Aggregation.Filters))
	return nil
}
