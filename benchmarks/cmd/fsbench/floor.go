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
	"time"

	"github.com/tidwall/gjson"
)

// The parse floor is the simplest program a competent engineer would write
// for the aggregator's job, without output: bufio, ONE gjson pass per line
// (gjson.ParseBytes(line).ForEach over the top-level keys), the level-2
// key (Felix's default aggregation for allowed flows: names aggregated,
// ports and IPs dropped) built in a string, and the counters summed in a
// map of open 5-minute buckets, each bucket closed (counted as a document)
// one window after a later one starts, as flowship's allowed_lateness does.

// floorSpec is what the floor reads from one kind's lines.
type floorSpec struct {
	key  []string // fields of the aggregation key, in key order
	sums []string // counters summed per key
	maxs []string // counters kept as maxima per key
}

var floorSpecs = map[string]floorSpec{
	"flows": {
		key: []string{"source_namespace", "source_name_aggr", "source_type", "dest_namespace", "dest_name_aggr",
			"dest_type", "dest_port", "proto", "action", "reporter", "policies"},
		sums: []string{"bytes_in", "bytes_out", "packets_in", "packets_out", "num_flows", "num_flows_started", "num_flows_completed"},
	},
	"l7": {
		key: []string{"src_namespace", "src_name_aggr", "dest_namespace", "dest_name_aggr", "dest_service_name",
			"method", "url", "response_code"},
		sums: []string{"count", "bytes_in", "bytes_out"},
		maxs: []string{"duration_max"},
	},
	"dns": {
		key:  []string{"client_namespace", "client_name_aggr", "qname", "qclass", "qtype", "rcode", "servers"},
		sums: []string{"count", "latency_count"},
		maxs: []string{"latency_max"},
	},
}

// floorWindow is the bucket length; lines of a bucket may arrive until one
// window after a later bucket started.
const floorWindow = 300

// floorResult is what `fsbench floor` prints as one JSON line.
type floorResult struct {
	Lines    int64 `json:"lines"`
	Bytes    int64 `json:"bytes"`
	Docs     int64 `json:"docs"`     // buckets closed: what an agent would send
	Checksum int64 `json:"checksum"` // sum of every counter, so nothing is optimised away
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

// runFloor reads every file once, line by line, and aggregates it.
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
		r, err := floorRead(f, floorSpecs[kindOf(path)])
		f.Close()
		if err != nil {
			return fmt.Errorf("floor: %s: %w", path, err)
		}
		total.Lines += r.Lines
		total.Bytes += r.Bytes
		total.Docs += r.Docs
		total.Checksum += r.Checksum
	}
	return json.NewEncoder(stdout).Encode(total)
}

// floorAgg is the floor's aggregation state: open buckets by start time,
// each a map from the key string to its counters.
type floorAgg struct {
	spec    floorSpec
	buckets map[int64]map[string][]int64
	latest  int64
	res     floorResult
}

// floorRead is the floor loop: bufio.Scanner, one ForEach pass per line,
// the key in a string, the counters in a map.
func floorRead(r io.Reader, spec floorSpec) (floorResult, error) {
	a := &floorAgg{spec: spec, buckets: map[int64]map[string][]int64{}}
	keyAt, sumAt, maxAt := positions(spec.key), positions(spec.sums), positions(spec.maxs)
	parts := make([]string, len(spec.key))
	vals := make([]int64, len(spec.sums)+len(spec.maxs))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		a.res.Lines++
		a.res.Bytes += int64(len(line)) + 1
		clear(parts)
		clear(vals)
		var start int64
		gjson.ParseBytes(line).ForEach(func(k, v gjson.Result) bool {
			name := k.Str
			if name == "start_time" {
				start = unixOf(v)
			} else if i, ok := keyAt[name]; ok {
				parts[i] = keyPart(name, v)
			} else if i, ok := sumAt[name]; ok {
				vals[i] = v.Int()
			} else if i, ok := maxAt[name]; ok {
				vals[len(spec.sums)+i] = v.Int()
			}
			return true
		})
		a.add(start-start%floorWindow, strings.Join(parts, "|"), vals)
	}
	a.closeBefore(1 << 62)
	return a.res, sc.Err()
}

// keyPart is one field's share of the key: strings as their value, the
// policies object by its all_policies list, anything else as its JSON.
func keyPart(name string, v gjson.Result) string {
	switch {
	case name == "policies":
		return v.Get("all_policies").Raw
	case v.Type == gjson.String:
		return v.Str
	}
	return v.Raw
}

// unixOf reads a start time: Unix seconds (flows, L7) or RFC 3339 (DNS).
func unixOf(v gjson.Result) int64 {
	if v.Type == gjson.Number {
		return v.Int()
	}
	t, err := time.Parse(time.RFC3339Nano, v.Str)
	if err != nil {
		return 0
	}
	return t.Unix()
}

// add merges one line into its bucket and closes buckets that can get no
// more lines.
func (a *floorAgg) add(bucket int64, key string, vals []int64) {
	b := a.buckets[bucket]
	if b == nil {
		b = map[string][]int64{}
		a.buckets[bucket] = b
	}
	c := b[key]
	if c == nil {
		c = make([]int64, len(vals))
		b[key] = c
	}
	ns := len(a.spec.sums)
	for i, v := range vals {
		if i < ns {
			c[i] += v
		} else {
			c[i] = max(c[i], v)
		}
	}
	if bucket > a.latest {
		a.latest = bucket
		a.closeBefore(bucket - floorWindow)
	}
}

// closeBefore counts the buckets that started before limit as documents.
func (a *floorAgg) closeBefore(limit int64) {
	for start, b := range a.buckets {
		if start >= limit {
			continue
		}
		a.res.Docs += int64(len(b))
		for _, c := range b {
			for _, v := range c {
				a.res.Checksum += v
			}
		}
		delete(a.buckets, start)
	}
}

func positions(names []string) map[string]int {
	m := make(map[string]int, len(names))
	for i, n := range names {
		m[n] = i
	}
	return m
}
