package schema

// AppendL7Doc appends d as one JSON object (no newline) to dst: the l7.log
// keys in Felix's order with Calico's JSON types, the optional newer keys
// (protocol, collector_*, tls_*) only when non-empty, then "host",
// "cluster", "@timestamp" (end_time*1000) and "flowship".
func AppendL7Doc(dst []byte, d *L7Doc) []byte {
	e := enc{b: append(dst, '{')}
	l := &d.L7
	e.int("start_time", l.StartTime)
	e.int("end_time", l.EndTime)
	e.int("duration_mean", l.DurationMean)
	e.int("duration_max", l.DurationMax)
	e.int("latency", l.Latency)
	e.int("bytes_in", l.BytesIn)
	e.int("bytes_out", l.BytesOut)
	e.int("count", l.Count)
	e.str("src_name_aggr", l.SrcNameAggr)
	e.str("src_namespace", l.SrcNamespace)
	e.str("src_type", l.SrcType)
	e.int("source_port_num", l.SourcePortNum)
	e.str("dest_name_aggr", l.DestNameAggr)
	e.str("dest_namespace", l.DestNamespace)
	e.str("dest_type", l.DestType)
	e.int("dest_port_num", l.DestPortNum)
	e.str("dest_service_name", l.DestServiceName)
	e.str("dest_service_namespace", l.DestServiceNS)
	e.str("dest_service_port_name", l.DestServicePortName)
	e.int("dest_service_port", l.DestServicePort)
	e.str("method", l.Method)
	e.str("user_agent", l.UserAgent)
	e.str("url", l.URL)
	e.str("response_code", l.ResponseCode)
	e.str("type", l.Type)
	e.optional("protocol", l.Protocol)
	e.optional("protocol_version", l.ProtocolVersion)
	e.optional("collector_type", l.CollectorType)
	e.optional("collector_name", l.CollectorName)
	e.optional("tls_sni", l.TLSSNI)
	e.optional("tls_version", l.TLSVersion)
	e.optional("tls_cipher_suite", l.TLSCipherSuite)
	e.optional("verdict", l.Verdict)
	e.meta(&d.Meta, l.EndTime*1000)
	e.close()
	return e.b
}

// optional writes a string member only when it is non-empty.
func (e *enc) optional(k, v string) {
	if v != "" {
		e.str(k, v)
	}
}

// L7DocFromView returns a document owning a copy of l, with
// Meta.Records = 1 and Meta.Level = -1; the caller sets the other Meta
// fields.
func L7DocFromView(l *L7) L7Doc {
	return L7Doc{Meta: Meta{Records: 1, Level: -1}, L7: l.Clone()}
}

// AppendDNSDoc appends d as one JSON object (no newline) to dst: the
// dns.log keys in Felix's order with Calico's JSON types (times as RFC
// 3339 UTC with nanoseconds; client_ip, client_labels, servers and rrsets
// null when empty; latency both as the nested object and the flat
// latency_* copies), then "host", "cluster" and "flowship". ClientLabels,
// Servers and RRSets are trusted to hold valid JSON (as ParseDNS and
// RawList guarantee).
func AppendDNSDoc(dst []byte, d *DNSDoc) []byte {
	e := enc{b: append(dst, '{')}
	n := &d.DNS
	e.rfc3339("start_time", n.StartTime)
	e.rfc3339("end_time", n.EndTime)
	e.str("type", n.Type)
	e.int("count", n.Count)
	e.str("client_name", n.ClientName)
	e.str("client_name_aggr", n.ClientNameAggr)
	e.str("client_namespace", n.ClientNamespace)
	if n.ClientIP == "" {
		e.raw("client_ip", "")
	} else {
		e.str("client_ip", n.ClientIP)
	}
	e.raw("client_labels", n.ClientLabels)
	e.raw("servers", n.Servers.Raw)
	e.str("qname", n.QName)
	e.str("qclass", n.QClass)
	e.str("qtype", n.QType)
	e.str("rcode", n.RCode)
	e.raw("rrsets", n.RRSets.Raw)
	e.open("latency")
	e.int("count", n.LatencyCount)
	e.int("mean", n.LatencyMean)
	e.int("max", n.LatencyMax)
	e.close()
	e.int("latency_count", n.LatencyCount)
	e.int("latency_mean", n.LatencyMean)
	e.int("latency_max", n.LatencyMax)
	e.meta(&d.Meta, -1)
	e.close()
	return e.b
}

// DNSDocFromView returns a document owning a copy of d, with
// Meta.Records = 1 and Meta.Level = -1; the caller sets the other Meta
// fields.
func DNSDocFromView(d *DNS) DNSDoc {
	return DNSDoc{Meta: Meta{Records: 1, Level: -1}, DNS: d.Clone()}
}
