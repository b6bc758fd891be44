// Command testsummary turns `go test -json` output into the usual terse go test output plus
// counts, for deploy/local/test-all.sh.
//
// It reads test2json events on stdin and writes to stdout: the full output of every failed test
// and of every package that failed or did not build, one "ok"/"FAIL" line per package, the
// reason of every skipped test, and a closing line
//
//	<label>: N passed, N failed, N skipped
//
// Counts include subtests. With -totals FILE the counts are also added to FILE (created when
// missing), whose closing line `testsummary -print-totals FILE` prints. The exit status is 1 when
// anything failed or did not build, so a pipeline with pipefail keeps go test's verdict.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	label := flag.String("label", "tests", "word printed before the counts")
	totals := flag.String("totals", "", "file accumulating counts across runs")
	printTotals := flag.String("print-totals", "", "print the closing line of this totals file and exit")
	flag.Parse()

	if *printTotals != "" {
		c, err := readCounts(*printTotals)
		if err != nil {
			fmt.Fprintf(os.Stderr, "testsummary: %v\n", err)
			os.Exit(1)
		}
		fmt.Println(c.line(*label))
		os.Exit(c.exitCode())
	}

	s := newSummary(os.Stdout)
	if err := s.read(os.Stdin); err != nil && err != io.EOF {
		fmt.Fprintf(os.Stderr, "testsummary: reading go test -json output: %v\n", err)
		os.Exit(1)
	}
	c := s.finish()
	fmt.Println(c.line(*label))
	if *totals != "" {
		if err := addCounts(*totals, c); err != nil {
			fmt.Fprintf(os.Stderr, "testsummary: %v\n", err)
			os.Exit(1)
		}
	}
	os.Exit(c.exitCode())
}
