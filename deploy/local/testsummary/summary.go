package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json), including build events.
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
	Elapsed    float64
}

// counts are test results; Broken counts packages that failed outside any test (build errors,
// panics in init, TestMain failures).
type counts struct {
	Passed, Failed, Skipped, Broken int
}

func (c counts) line(label string) string {
	s := fmt.Sprintf("%s: %d passed, %d failed, %d skipped", label, c.Passed, c.Failed, c.Skipped)
	if c.Broken > 0 {
		s += fmt.Sprintf(" (%d package(s) failed to build or run)", c.Broken)
	}
	return s
}

func (c counts) exitCode() int {
	if c.Failed > 0 || c.Broken > 0 {
		return 1
	}
	return 0
}

type summary struct {
	w       io.Writer
	c       counts
	out     map[string][]string // package or package/test -> buffered output
	failed  map[string]bool     // package -> a test in it failed
	skips   []string
	started map[string]bool // packages that emitted a start event
}

func newSummary(w io.Writer) *summary {
	return &summary{w: w, out: map[string][]string{}, failed: map[string]bool{}, started: map[string]bool{}}
}

// read consumes events until EOF; lines that are not JSON (e.g. build errors on older Go) are
// echoed as they are.
func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintln(s.w, string(line))
			continue
		}
		s.handle(e)
	}
	return sc.Err()
}

func (s *summary) handle(e event) {
	switch {
	case e.Action == "build-output":
		fmt.Fprint(s.w, e.Output)
	case e.Action == "build-fail":
		// counted by the package's own "fail" event, which follows
	case e.Test != "":
		s.handleTest(e)
	default:
		s.handlePackage(e)
	}
}

func (s *summary) handleTest(e event) {
	key := e.Package + "\x00" + e.Test
	switch e.Action {
	case "output":
		s.out[key] = append(s.out[key], e.Output)
	case "pass":
		s.c.Passed++
		delete(s.out, key)
	case "skip":
		s.c.Skipped++
		s.skips = append(s.skips, fmt.Sprintf("SKIP %s %s: %s", e.Package, e.Test, skipReason(s.out[key])))
		delete(s.out, key)
	case "fail":
		s.c.Failed++
		s.failed[e.Package] = true
		for _, o := range s.out[key] {
			fmt.Fprint(s.w, o)
		}
		delete(s.out, key)
	}
}

func (s *summary) handlePackage(e event) {
	switch e.Action {
	case "start":
		s.started[e.Package] = true
	case "output":
		s.out[e.Package] = append(s.out[e.Package], e.Output)
	case "pass", "skip":
		for _, o := range s.out[e.Package] {
			if strings.HasPrefix(o, "ok ") || strings.HasPrefix(o, "?") {
				fmt.Fprint(s.w, o)
			}
		}
		delete(s.out, e.Package)
	case "fail":
		if !s.failed[e.Package] {
			s.c.Broken++ // failed with no failing test: build error, panic, TestMain
		}
		for _, o := range s.out[e.Package] {
			if o != "PASS\n" && o != "FAIL\n" && !strings.HasPrefix(o, "=== ") && !strings.HasPrefix(o, "--- PASS") {
				fmt.Fprint(s.w, o)
			}
		}
		delete(s.out, e.Package)
	}
}

// skipReason picks the t.Skip message out of a skipped test's buffered output.
func skipReason(out []string) string {
	var lines []string
	for _, o := range out {
		o = strings.TrimSpace(o)
		if o == "" || strings.HasPrefix(o, "=== ") || strings.HasPrefix(o, "--- SKIP") {
			continue
		}
		lines = append(lines, o)
	}
	if len(lines) == 0 {
		return "(no reason given)"
	}
	return strings.Join(lines, " | ")
}

// finish prints skip reasons and anything left of tests that never finished (a timeout or a
// crash), and returns the counts.
func (s *summary) finish() counts {
	for _, sk := range s.skips {
		fmt.Fprintln(s.w, sk)
	}
	keys := make([]string, 0, len(s.out))
	for k := range s.out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, o := range s.out[k] {
			fmt.Fprint(s.w, o)
		}
	}
	return s.c
}

func readCounts(path string) (counts, error) {
	var c counts
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading totals %s: %w", path, err)
	}
	if len(b) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("totals %s is not valid JSON: %w", path, err)
	}
	return c, nil
}

func addCounts(path string, add counts) error {
	c, err := readCounts(path)
	if err != nil {
		return err
	}
	c.Passed += add.Passed
	c.Failed += add.Failed
	c.Skipped += add.Skipped
	c.Broken += add.Broken
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("writing totals %s: %w", path, err)
	}
	return nil
}
