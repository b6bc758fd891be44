package aggregator

import (
	"strings"

	"github.com/flowship/flowship/schema"
)

// unlogged is the type of Felix's per-node-limit overflow records.
const unlogged = "unlogged"

// maskL7 applies the L7 knobs (spec §4.4) to l in place. Overflow
// records (type "unlogged") are left alone: they carry only times and a
// count. Every knob is idempotent, so lines Felix already masked with the
// same or weaker knobs re-aggregate exactly.
func maskL7(l *schema.L7, c *L7Config) {
	if l.Type == unlogged {
		return
	}
	const dash = schema.NotIncluded
	if c.HeaderInfo == ExcludeL7HTTPHeaderInfo {
		l.UserAgent, l.Type = dash, dash
	}
	if c.Method == ExcludeL7HTTPMethod {
		l.Method = dash
	}
	if c.ServiceInfo == ExcludeL7ServiceInfo {
		l.DestServiceName, l.DestServiceNS, l.DestServicePortName = dash, dash, dash
		l.DestServicePort = 0
	}
	if c.DestinationInfo == ExcludeL7DestinationInfo {
		l.DestNameAggr, l.DestNamespace, l.DestType = dash, dash, dash
		l.DestPortNum = 0
	}
	switch c.SourceInfo {
	case ExcludeL7SourceInfo:
		l.SrcNameAggr, l.SrcNamespace, l.SrcType = dash, dash, dash
		l.SourcePortNum = 0
	case IncludeL7SourceInfoNoPort:
		l.SourcePortNum = 0
	}
	if c.ResponseCode == ExcludeL7ResponseCode {
		l.ResponseCode = dash
	}
	l.URL = trimURL(l.URL, c)
}

// trimURL applies Felix's URL algorithm (spec §4.4) to url = domain+path.
// The result is always a prefix of url, so it allocates nothing:
//  1. IncludeL7FullURL with NumURLPath >= 0: drop the query, keep the
//     first NumURLPath path segments;
//  2. TrimURLQuery: drop the query;
//  3. TrimURLQueryAndPath: keep the domain;
//  4. ExcludeL7URL: "";
//  5. then cut domain+path to URLCharLimit (the path first, then the
//     domain).
func trimURL(url string, c *L7Config) string {
	if url == "" || url == schema.NotIncluded {
		return url
	}
	domain, path := url, ""
	if i := strings.IndexByte(url, '/'); i >= 0 {
		domain, path = url[:i], url[i:]
	}
	switch c.TrimURL {
	case ExcludeL7URL:
		return ""
	case TrimURLQueryAndPath:
		path = ""
	case TrimURLQuery:
		path = stripQuery(path)
	case IncludeL7FullURL:
		if c.NumURLPath >= 0 {
			path = keepSegments(stripQuery(path), c.NumURLPath)
		}
	}
	if len(domain) > c.URLCharLimit {
		return domain[:c.URLCharLimit]
	}
	if len(domain)+len(path) > c.URLCharLimit {
		path = path[:c.URLCharLimit-len(domain)]
	}
	return url[:len(domain)+len(path)]
}

func stripQuery(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return path[:i]
	}
	return path
}

// keepSegments keeps the first n '/'-separated segments of path, counting
// the empty segment before a leading '/' as Felix's strings.Split does
// not: "/a/b/c" with n=2 is "/a/b".
func keepSegments(path string, n int) string {
	seen := -1 // the leading '/' opens segment 0
	if !strings.HasPrefix(path, "/") {
		seen = 0
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '/' {
			continue
		}
		seen++
		if seen == n {
			return path[:i]
		}
	}
	return path
}

// l7Key masks l and appends its key (spec §4.4 L7 key, plus the optional
// newer collector fields, plus extra fields) to dst.
func l7Key(dst []byte, l *schema.L7, c *L7Config, extra []field[schema.L7]) []byte {
	maskL7(l, c)
	b := append(dst, 'L')
	for _, s := range [...]string{
		l.SrcNameAggr, l.SrcNamespace, l.SrcType,
		l.DestNameAggr, l.DestNamespace, l.DestType,
		l.DestServiceName, l.DestServiceNS, l.DestServicePortName,
		l.ResponseCode, l.Method, l.URL, l.UserAgent, l.Type,
		l.Protocol, l.ProtocolVersion, l.CollectorType, l.CollectorName,
		l.TLSSNI, l.TLSVersion, l.TLSCipherSuite,
	} {
		b = appendStr(b, s)
	}
	b = appendInt(b, l.SourcePortNum)
	b = appendInt(b, l.DestPortNum)
	b = appendInt(b, l.DestServicePort)
	if l.Verdict != "" { // Hubble lines only: Envoy keys unchanged
		b = appendStr(append(b, 'H'), l.Verdict)
	}
	return appendExtra(b, extra, l)
}

// maskDNS applies DNS level 1 (spec §5): client name and IP masked.
func maskDNS(d *schema.DNS, level int) {
	if level >= 1 && d.Type != unlogged {
		d.ClientName, d.ClientIP = schema.NotIncluded, ""
	}
}

// dnsKey masks d and appends its key to dst: Felix's DNS key (client,
// question, rcode, rrsets) plus type and extra fields. Servers and labels
// are merged, not keyed.
func dnsKey(dst []byte, d *schema.DNS, level int, extra []field[schema.DNS]) []byte {
	maskDNS(d, level)
	b := append(dst, 'D')
	for _, s := range [...]string{
		d.Type, d.ClientName, d.ClientNameAggr, d.ClientNamespace, d.ClientIP,
		d.QName, d.QClass, d.QType, d.RCode, d.RRSets.Raw,
	} {
		b = appendStr(b, s)
	}
	return appendExtra(b, extra, d)
}
