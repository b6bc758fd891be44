package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/sample.jsonl is real `go test -json ./...` output of a fixture module: package a has
// TestPass, TestFail (logs "some context", errors "boom"), TestSkip ("needs Kafka") and TestSubs
// with subtests one and two; package b has TestOK; package c does not compile.
func TestSummarySample(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "sample.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	s := newSummary(&out)
	if err := s.read(f); err != nil {
		t.Fatal(err)
	}
	got := s.finish()
	// passed: TestPass, TestSubs, TestSubs/one, TestSubs/two, b.TestOK.
	if want := (counts{Passed: 5, Failed: 1, Skipped: 1, Broken: 1}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	text := out.String()
	for _, want := range []string{
		"undefined: undefined",               // build error shown
		"some context", "--- FAIL: TestFail", // failed test's output shown
		"ok  \texample.com/fix/b", // package verdicts shown
		"FAIL\texample.com/fix/c [build failed]",
		"SKIP example.com/fix/a TestSkip: a_test.go:7: needs Kafka",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for _, unwanted := range []string{"=== RUN   TestPass", "--- PASS"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("output has passing-test noise %q:\n%s", unwanted, text)
		}
	}
	if got.exitCode() != 1 {
		t.Errorf("exitCode = %d, want 1", got.exitCode())
	}
}

func TestCountsLine(t *testing.T) {
	cases := []struct {
		name string
		c    counts
		want string
		code int
	}{
		{"clean", counts{Passed: 3, Skipped: 1}, "unit: 3 passed, 0 failed, 1 skipped", 0},
		{"failed", counts{Passed: 3, Failed: 2}, "unit: 3 passed, 2 failed, 0 skipped", 1},
		{"broken", counts{Broken: 1}, "unit: 0 passed, 0 failed, 0 skipped (1 package(s) failed to build or run)", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.line("unit"); got != tc.want {
				t.Errorf("line = %q, want %q", got, tc.want)
			}
			if got := tc.c.exitCode(); got != tc.code {
				t.Errorf("exitCode = %d, want %d", got, tc.code)
			}
		})
	}
}

func TestTotalsAccumulate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "totals.json")
	for _, c := range []counts{{Passed: 2, Skipped: 1}, {Passed: 3, Failed: 1}} {
		if err := addCounts(path, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := readCounts(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := (counts{Passed: 5, Failed: 1, Skipped: 1}); got != want {
		t.Errorf("totals = %+v, want %+v", got, want)
	}
}

func FuzzSummaryRead(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "sample.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("not json\n{\"Action\":\"fail\"}\n{"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s := newSummary(&bytes.Buffer{})
		_ = s.read(bytes.NewReader(in)) // must not panic on any input
		c := s.finish()
		if c.Passed < 0 || c.Failed < 0 || c.Skipped < 0 || c.Broken < 0 {
			t.Fatalf("negative counts %+v", c)
		}
	})
}
