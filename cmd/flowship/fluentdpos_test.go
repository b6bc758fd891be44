package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMergeFluentdPos(t *testing.T) {
	dir := t.TempDir()
	flows := filepath.Join(dir, "flows.log.pos")
	dns := filepath.Join(dir, "dns.log.pos")
	os.WriteFile(flows, []byte("/var/log/calico/flowlogs/flows.log\t0000000000000400\t0000000000abcdef"), 0o644) // no trailing newline
	os.WriteFile(dns, []byte("/var/log/calico/dnslogs/dns.log\t0000000000000010\t0000000000000042\n"), 0o644)
	var stderr bytes.Buffer
	merged, err := mergeFluentdPos([]string{flows, filepath.Join(dir, "l7.log.pos"), dns}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(merged)
	b, err := os.ReadFile(merged)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "/var/log/calico/flowlogs/flows.log\t") || !strings.HasPrefix(lines[1], "/var/log/calico/dnslogs/dns.log\t") {
		t.Fatalf("merged pos file:\n%s", b)
	}
	if !strings.Contains(stderr.String(), "l7.log.pos does not exist") {
		t.Fatalf("missing file not reported: %q", stderr.String())
	}
	if _, err := mergeFluentdPos([]string{dir}, &stderr); err == nil {
		t.Fatal("a directory given as pos file was accepted")
	}
}
