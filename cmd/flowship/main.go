// Command flowship tails Calico flow, L7 and DNS logs on every node,
// filters and aggregates them, ships them through Kafka, and indexes them
// into Elasticsearch. See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"collect", "node agent: tail flow/L7/DNS logs, filter, aggregate, produce to Kafka", runCollect},
		{"index", "indexer: consume the Kafka topics and bulk-index into Elasticsearch", runIndex},
		{"setup", "create index templates, ILM policies, Kafka topics and Kibana objects", runSetup},
		{"receive", "Goldmane receiver: accept the NDJSON flows Calico's Goldmane emits and produce them to Kafka", runReceive},
		{"aggregate", "offline: aggregate log files to JSON lines and report the reduction", runAggregate},
		{"gen", "generate realistic synthetic Felix/Envoy/DNS logs", runGen},
		{"check", "validate a configuration file", runCheck},
		{"ui", "web UI: Flow Visualizer, Policy Board, Service Graph, flow logs over Elasticsearch", runUI},
		{"demo", "run the whole pipeline locally on generated logs and show what landed", runDemo},
		{"version", "print the version", runVersion},
		{"help", "show this help", nil},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the process exit code:
// 0 success, 1 runtime failure, 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] && c.run != nil {
			if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
				fmt.Fprintf(stderr, "flowship %s: %v\n", c.name, err)
				if _, ok := err.(usageError); ok {
					return 2
				}
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "flowship: unknown command %q; run 'flowship help'\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "flowship %s — Calico flow logs to Kafka and Elasticsearch\n\nUsage: flowship <command> [flags]\n\nCommands:\n", version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'flowship <command> -h' for a command's flags.\n")
}

// usageError marks a bad invocation (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintf(stdout, "flowship %s\n", version)
	return nil
}
