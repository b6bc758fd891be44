package schema

import (
	"strconv"
	"strings"
)

// AppendHubbleFlowLine appends the Calico flows.log line (spec §2) that
// one Hubble flow event maps to (docs/sources.md, "Cilium Hubble"), so
// that ParseFlow, the filters and the aggregator treat it like a Felix
// line. h must be a line ParseHubble returned as HubbleFlowEvent. The window
// is the event's second; the aggregator buckets it by event time.
func AppendHubbleFlowLine(dst []byte, h *HubbleLine) []byte {
	f := h.Flow
	ns, _ := hubbleTime(f.Time, h.Time)
	sec := ns / 1e9
	node := hubbleNode(f, h)
	src, dest, reply := hubbleOriented(f)
	action := hubbleAction[f.Verdict]
	e := enc{b: append(dst, '{')}
	e.int("start_time", sec)
	e.int("end_time", sec)
	e.hubbleSide("source", src, node)
	e.hubbleSide("dest", dest, node)
	svcNS, svcName := NotIncluded, NotIncluded
	if s := f.DestService; s != nil && !reply {
		svcNS, svcName = orDash(s.Namespace), orDash(s.Name)
	}
	e.str("dest_service_namespace", svcNS)
	e.str("dest_service_name", svcName)
	e.str("dest_service_port", NotIncluded)
	e.raw("dest_service_port_num", "")
	if len(f.DestNames) > 0 && !reply {
		e.strs("dest_domains", f.DestNames[:min(5, len(f.DestNames))], false)
	} else {
		e.raw("dest_domains", "")
	}
	e.str("proto", f.L4.proto())
	e.str("action", action)
	e.str("reporter", hubbleReporter(f.TrafficDirection))
	all, enforced, pending := hubbleTraces(f, action)
	e.open("policies")
	e.strs("all_policies", all, false)
	e.strs("enforced_policies", enforced, false)
	e.strs("pending_policies", pending, false)
	e.close()
	flows, started, completed := hubbleCounts(f, reply)
	for _, c := range [...]struct {
		k string
		v int64
	}{{"bytes_in", 0}, {"bytes_out", 0}, {"num_flows", flows}, {"num_flows_started", started},
		{"num_flows_completed", completed}, {"packets_in", 0}, {"packets_out", 0},
		{"http_requests_allowed_in", 0}, {"http_requests_denied_in", 0}} {
		e.int(c.k, c.v)
	}
	e.str("process_name", NotIncluded)
	e.int("num_process_names", 0)
	e.str("process_id", NotIncluded)
	e.int("num_process_ids", 0)
	e.strs("process_args", []string{NotIncluded}, false)
	e.int("num_process_args", 0)
	e.raw("original_source_ips", "")
	e.int("num_original_source_ips", 0)
	e.str("verdict", f.Verdict)
	if f.DropReasonDesc != "" {
		e.str("drop_reason_desc", f.DropReasonDesc)
	}
	e.close()
	return e.b
}

// hubbleSide writes one endpoint's flows.log keys.
func (e *enc) hubbleSide(prefix string, s hubbleSide, node string) {
	typ := hubbleType(s)
	if s.ip != "" {
		e.str(prefix+"_ip", s.ip)
	} else {
		e.raw(prefix+"_ip", "")
	}
	name, ns := NotIncluded, NotIncluded
	if s.ep != nil {
		name, ns = orDash(s.ep.PodName), orDash(s.ep.Namespace)
	}
	e.str(prefix+"_name", name)
	e.str(prefix+"_name_aggr", hubbleNameAggr(s, typ, node))
	e.str(prefix+"_namespace", ns)
	if prefix == "source" {
		e.raw("nat_outgoing_ports", "")
	}
	if s.port != 0 {
		e.int(prefix+"_port", int64(s.port))
	} else {
		e.raw(prefix+"_port", "")
	}
	e.str(prefix+"_type", typ)
	e.labels(prefix+"_labels", hubbleLabels(s.ep), false)
}

func orDash(s string) string {
	if s == "" {
		return NotIncluded
	}
	return s
}

// hubbleReporter maps traffic_direction: INGRESS is seen at the
// destination (dst), EGRESS and unknown at the source (src).
func hubbleReporter(dir string) string {
	if dir == "INGRESS" {
		return "dst"
	}
	return "src"
}

// hubbleCounts returns num_flows, num_flows_started and
// num_flows_completed of one event: num_flows counts events (or the
// exporter's aggregate count); a reply never starts or completes a
// connection; a TCP connection starts at SYN without ACK, a UDP, SCTP or
// ICMP one at its policy-verdict event (type 5, sent for a new
// connection); FIN or RST completes a TCP connection.
func hubbleCounts(f *HubbleFlow, reply bool) (flows, started, completed int64) {
	flows = 1
	if a := f.Aggregate; a != nil {
		if n := int64(a.IngressFlowCount) + int64(a.EgressFlowCount) + int64(a.UnknownDirectionFlowCount); n > 0 {
			flows = n
		}
	}
	if reply {
		return flows, 0, 0
	}
	if f.L4 != nil && f.L4.TCP != nil {
		if fl := f.L4.TCP.Flags; fl != nil {
			if fl.SYN && !fl.ACK {
				started = 1
			}
			if fl.FIN || fl.RST {
				completed = 1
			}
		}
		return flows, started, completed
	}
	if f.EventType != nil && f.EventType.Type == 5 {
		started = 1
	}
	return flows, started, completed
}

// AppendHubbleL7Line appends the Calico l7.log line (spec §4.5) of one
// l7.http flow event (ParseHubble returned HubbleL7): one request, its
// latency as duration and latency, the client as src.
func AppendHubbleL7Line(dst []byte, h *HubbleLine) []byte {
	f := h.Flow
	ns, _ := hubbleTime(f.Time, h.Time)
	sec := ns / 1e9
	node := hubbleNode(f, h)
	src, dest, reply := hubbleOriented(f)
	http := f.L7.HTTP
	lat := int64(min(f.L7.LatencyNS, 1<<62))
	e := enc{b: append(dst, '{')}
	e.int("start_time", sec)
	e.int("end_time", sec)
	e.int("duration_mean", lat)
	e.int("duration_max", lat)
	e.int("latency", lat)
	e.int("bytes_in", 0)
	e.int("bytes_out", 0)
	e.int("count", 1)
	for _, s := range [...]struct {
		p string
		s hubbleSide
	}{{"src", src}, {"dest", dest}} {
		typ := hubbleType(s.s)
		e.str(s.p+"_name_aggr", hubbleNameAggr(s.s, typ, node))
		ns := NotIncluded
		if s.s.ep != nil {
			ns = orDash(s.s.ep.Namespace)
		}
		e.str(s.p+"_namespace", ns)
		e.str(s.p+"_type", typ)
		if s.p == "src" {
			e.int("source_port_num", 0)
		} else {
			e.int("dest_port_num", int64(s.s.port))
		}
	}
	svcNS, svcName := NotIncluded, NotIncluded
	if s := f.DestService; s != nil && !reply {
		svcNS, svcName = orDash(s.Namespace), orDash(s.Name)
	}
	e.str("dest_service_name", svcName)
	e.str("dest_service_namespace", svcNS)
	e.str("dest_service_port_name", NotIncluded)
	e.int("dest_service_port", 0)
	e.str("method", orDash(http.Method))
	ua := NotIncluded
	for _, hd := range http.Headers {
		if strings.EqualFold(hd.Key, "user-agent") {
			ua = orDash(hd.Value)
		}
	}
	e.str("user_agent", ua)
	url := http.URL
	if i := strings.Index(url, "://"); i >= 0 {
		url = url[i+3:]
	}
	e.str("url", orDash(url))
	code := NotIncluded
	if http.Code != 0 {
		code = strconv.FormatUint(uint64(http.Code), 10)
	}
	e.str("response_code", code)
	e.str("type", orDash(http.Protocol))
	e.str("protocol", "http")
	if v, ok := strings.CutPrefix(http.Protocol, "HTTP/"); ok {
		e.str("protocol_version", v)
	}
	e.str("collector_type", "hubble")
	e.str("verdict", f.Verdict)
	e.close()
	return e.b
}
