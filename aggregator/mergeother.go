package aggregator

import (
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/flowship/flowship/schema"
)

// l7Entry is one L7 key's running merge (spec §4.4 "Merging inside one
// key"): count, bytes, latency and total duration summed, the maximum
// duration kept, duration_mean the count-weighted mean.
type l7Entry struct {
	doc      schema.L7Doc
	durTotal int64 // sum of duration_mean*count, ns
}

func newL7Entry(l *schema.L7) *l7Entry {
	e := &l7Entry{doc: schema.L7DocFromView(l)}
	d := &e.doc.L7
	e.doc.Meta.Records = 0
	d.Count, d.BytesIn, d.BytesOut, d.Latency, d.DurationMax, d.DurationMean = 0, 0, 0, 0, 0, 0
	return e
}

func (e *l7Entry) add(l *schema.L7) {
	d := &e.doc.L7
	e.doc.Meta.Records++
	d.StartTime = min(d.StartTime, l.StartTime)
	d.EndTime = max(d.EndTime, l.EndTime)
	d.Count += l.Count
	d.BytesIn += l.BytesIn
	d.BytesOut += l.BytesOut
	d.Latency += l.Latency
	d.DurationMax = max(d.DurationMax, l.DurationMax)
	e.durTotal += l.DurationMean * l.Count
}

func (e *l7Entry) finish(meta schema.Meta) schema.L7Doc {
	d := e.doc
	records := d.Meta.Records
	d.Meta = meta
	d.Meta.Records, d.Meta.Level = records, -1
	if d.L7.Count > 0 {
		d.L7.DurationMean = e.durTotal / d.L7.Count
	}
	return d
}

// dnsEntry is one DNS key's running merge: count and latency_count
// summed, latency_mean weighted by latency_count, latency_max the
// maximum, servers a set, client labels intersected.
type dnsEntry struct {
	doc        schema.DNSDoc
	latTotal   int64    // sum of latency_mean*latency_count, ns
	servers    []string // raw JSON objects, first come
	labelsNull bool
}

func newDNSEntry(d *schema.DNS, level int) *dnsEntry {
	e := &dnsEntry{doc: schema.DNSDocFromView(d)}
	e.doc.Meta.Records, e.doc.Meta.Level = 0, level
	n := &e.doc.DNS
	n.Count, n.LatencyCount, n.LatencyMean, n.LatencyMax = 0, 0, 0, 0
	n.Servers = schema.List{}
	e.labelsNull = n.ClientLabels == "" || n.ClientLabels == "null"
	return e
}

func (e *dnsEntry) add(d *schema.DNS) {
	n := &e.doc.DNS
	first := e.doc.Meta.Records == 0
	e.doc.Meta.Records++
	n.StartTime = min(n.StartTime, d.StartTime)
	n.EndTime = max(n.EndTime, d.EndTime)
	n.Count += d.Count
	n.LatencyCount += d.LatencyCount
	e.latTotal += d.LatencyMean * d.LatencyCount
	n.LatencyMax = max(n.LatencyMax, d.LatencyMax)
	d.Servers.Each(func(s string) bool {
		if !slices.Contains(e.servers, s) && len(e.servers) < maxOriginalIPs {
			e.servers = append(e.servers, strings.Clone(s))
		}
		return true
	})
	if !first && d.ClientLabels != n.ClientLabels {
		e.mergeLabels(d.ClientLabels)
	}
}

// mergeLabels intersects the client label maps (same key and value).
func (e *dnsEntry) mergeLabels(raw string) {
	if raw == "" || raw == "null" {
		return
	}
	if e.labelsNull {
		e.doc.DNS.ClientLabels, e.labelsNull = strings.Clone(raw), false
		return
	}
	e.doc.DNS.ClientLabels = intersectObjects(e.doc.DNS.ClientLabels, raw)
}

func (e *dnsEntry) finish(meta schema.Meta) schema.DNSDoc {
	d := e.doc
	records, level := d.Meta.Records, d.Meta.Level
	d.Meta = meta
	d.Meta.Records, d.Meta.Level = records, level
	if d.DNS.LatencyCount > 0 {
		d.DNS.LatencyMean = e.latTotal / d.DNS.LatencyCount
	}
	d.DNS.Servers = schema.RawList(e.servers)
	return d
}

// intersectObjects returns the JSON object of the members of a that b
// has with an equal value, in a's order. It runs only when two lines'
// labels differ, so it may allocate.
func intersectObjects(a, b string) string {
	other := map[string]string{}
	gjson.Parse(b).ForEach(func(k, v gjson.Result) bool {
		other[k.String()] = v.Raw
		return true
	})
	out := []byte{'{'}
	gjson.Parse(a).ForEach(func(k, v gjson.Result) bool {
		if raw, ok := other[k.String()]; ok && raw == v.Raw {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, k.Raw...)
			out = append(out, ':')
			out = append(out, v.Raw...)
		}
		return true
	})
	return string(append(out, '}'))
}
