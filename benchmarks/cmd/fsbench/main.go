// Command fsbench is flowship's benchmark harness (benchmarks/run.sh calls
// it). `fsbench run` generates two workloads with `flowship gen` (labels
// and policy traces on, and off) and measures, in one run and side by
// side: the parse floor (bufio, one gjson pass per line, the level-2 key in
// a string, counters in a map), `flowship collect` and rsyslog (imfile +
// mmjsonparse + omkafka) into the same real Kafka, `flowship index`
// against a plain bulk loader into the same real Elasticsearch, and the
// reduction per aggregation level and window. It writes a dated Markdown
// table with the issue-12 targets, a PNG chart and the JSON.
//
// `fsbench floor` and `fsbench bulk` are the two reference programs; they
// run as child processes so that their CPU time is measured exactly like
// the agents'.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fsbench: %v\n", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: fsbench run|floor|bulk|dump|compress|chart [flags]; see benchmarks/README.md")
		return fmt.Errorf("no subcommand")
	}
	switch args[0] {
	case "run":
		return runBench(ctx, args[1:], stdout, stderr)
	case "floor":
		return runFloor(args[1:], stdout)
	case "bulk":
		return runBulk(ctx, args[1:], stdout)
	case "chart":
		return runChart(args[1:])
	case "dump":
		return runDump(ctx, args[1:], stdout)
	case "compress":
		return runCompress(args[1:], stdout)
	}
	return fmt.Errorf("unknown subcommand %q: want run, floor, bulk, dump, compress or chart", args[0])
}
