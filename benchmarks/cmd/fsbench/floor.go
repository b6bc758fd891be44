package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tidwall/gjson"
)

// The parse floor: the fields the aggregator needs at the default levels
// (allowed 2, denied 1) for its key and its sums, read with one naive
// gjson.GetManyBytes call per line. GetManyBytes looks every path up
// from the start of the line, which is what a straightforward agent does.
var floorFields = map[string][]string{
	"flows": {
		"start_time", "end_time",
		"source_namespace", "source_name_aggr", "source_type",
		"dest_namespace", "dest_name_aggr", "dest_type", "dest_port", "proto",
		"action", "reporter", "policies.all_policies",
		"bytes_in", "bytes_out", "packets_in", "packets_out", "num_flows",
	},
	"l7": {
		"start_time", "end_time", "src_namespace", "src_name_aggr",
		"dest_namespace", "dest_name_aggr", "dest_service_name", "method", "url",
		"response_code", "count", "bytes_in", "bytes_out", "duration_mean", "duration_max",
	},
	"dns": {
		"start_time", "end_time", "client_namespace", "client_name_aggr",
		"qname", "qclass", "qtype", "rcode", "servers", "count", "latency_count",
		"latency_mean", "latency_max",
	},
}

// floorResult is what `fsbench floor` prints as one JSON line.
type floorResult struct {
	Lines    int64 `json:"lines"`
	Bytes    int64 `json:"bytes"`
	Checksum int64 `json:"checksum"` // keeps the lookups from being optimised away
}

// kindOf tells a log file's kind from its name, as flowship aggregate does.
func kindOf(path string) string {
	base := filepath.Base(path)
	switch {
	case strings.HasPrefix(base, "l7"):
		return "l7"
	case strings.HasPrefix(base, "dns"):
		return "dns"
	}
	return "flows"
}

// runFloor reads every file once, line by line, and looks the kind's
// fields up with gjson.GetManyBytes.
func runFloor(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var total floorResult
	for _, path := range fs.Args() {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		r, err := floorRead(f, floorFields[kindOf(path)])
		f.Close()
		if err != nil {
			return fmt.Errorf("floor: %s: %w", path, err)
		}
		total.Lines += r.Lines
		total.Bytes += r.Bytes
		total.Checksum += r.Checksum
	}
	return json.NewEncoder(stdout).Encode(total)
}

// floorRead is the floor loop: bufio.Scanner plus one GetManyBytes per line.
func floorRead(r io.Reader, fields []string) (floorResult, error) {
	var res floorResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		res.Lines++
		res.Bytes += int64(len(line)) + 1
		for _, v := range gjson.GetManyBytes(line, fields...) {
			res.Checksum += int64(len(v.Raw))
		}
	}
	return res, sc.Err()
}
