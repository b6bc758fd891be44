package schema

import "fmt"

// Required flow keys: the window and the identity the aggregator keys on.
// A line without one of them cannot be placed in a bucket or attributed,
// so it is rejected; every other key may be absent (zero value) or null.
const (
	reqStartTime = 1 << iota
	reqEndTime
	reqSourceType
	reqSourceNamespace
	reqSourceNameAggr
	reqDestType
	reqDestNamespace
	reqDestNameAggr
	reqProto
	reqAction
	reqReporter
)

var flowRequired = [...]string{
	"start_time", "end_time", "source_type", "source_namespace", "source_name_aggr",
	"dest_type", "dest_namespace", "dest_name_aggr", "proto", "action", "reporter",
}

// MaxTime is the largest start_time/end_time accepted, in Unix seconds
// (9999-12-31T23:59:59Z, the end of Elasticsearch's default date range).
const MaxTime = 253402300799

// ParseFlow parses one flows.log line (spec §2.1) into f in a single pass,
// allocating nothing unless a string contains escapes.
//
// f's strings and Lists alias line: keep line unmodified while f is used,
// or Clone f. Unknown keys are validated and ignored. Lenient as spec §9.2
// asks: null and [] lists read alike, null numbers read as 0 (OptInt:
// not Valid), null strings as "". Strict: the line must be exactly one
// valid JSON object (UTF-8, no raw control bytes), start_time and
// end_time integers in [0, MaxTime], the identity keys (source_type,
// source_namespace, source_name_aggr, dest_type, dest_namespace,
// dest_name_aggr, proto, action, reporter) non-null strings, source_ip,
// dest_ip and original_source_ips valid IP addresses. Errors are
// *SyntaxError or *FieldError and name the key.
func ParseFlow(line []byte, f *Flow) error {
	*f = Flow{}
	p := scanner{s: view(line)}
	if err := p.begin(); err != nil {
		return err
	}
	var seen uint32
	next := 0 // index in felixKeyOrder of the key Felix writes next
	for first := true; ; {
		var key string
		if next < len(felixKeyOrder) && p.predictedKey(first, felixKeyQuoted[next]) {
			key, first = felixKeyOrder[next], false
			next++
		} else {
			k, more, err := p.nextKey(&first)
			if err != nil {
				return err
			}
			if !more {
				break
			}
			key = k
			next = resync(next, key)
		}
		p.key = key
		if err := f.field(&p, key, &seen); err != nil {
			return err
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	return checkRequired(seen, flowRequired[:])
}

// felixKeyOrder are the keys of a flows.log line in the order Felix writes
// them (spec §2.1); felixKeyQuoted are the same as `"key":`. ParseFlow tries
// the expected next key with one comparison before scanning a key
// string; any other order, spacing or escaping takes the general path.
var felixKeyOrder = [...]string{
	"start_time", "end_time", "source_ip", "source_name", "source_name_aggr", "source_namespace",
	"nat_outgoing_ports", "source_port", "source_type", "source_labels", "dest_ip", "dest_name",
	"dest_name_aggr", "dest_namespace", "dest_port", "dest_type", "dest_labels",
	"dest_service_namespace", "dest_service_name", "dest_service_port", "dest_service_port_num",
	"dest_domains", "proto", "action", "reporter", "policies", "bytes_in", "bytes_out", "num_flows",
	"num_flows_started", "num_flows_completed", "packets_in", "packets_out",
	"http_requests_allowed_in", "http_requests_denied_in", "process_name", "num_process_names",
	"process_id", "num_process_ids", "process_args", "num_process_args", "original_source_ips",
	"num_original_source_ips", "tcp_mean_send_congestion_window", "tcp_min_send_congestion_window",
	"tcp_mean_smooth_rtt", "tcp_max_smooth_rtt", "tcp_mean_min_rtt", "tcp_max_min_rtt",
	"tcp_mean_mss", "tcp_min_mss", "tcp_total_retransmissions", "tcp_lost_packets", "tcp_unrecovered_to",
}

var felixKeyQuoted = func() (q [len(felixKeyOrder)]string) {
	for i, k := range felixKeyOrder {
		q[i] = `"` + k + `":`
	}
	return q
}()

// resync returns the expected next key index after key was read by the
// general path: past key when it is the expected key or the one after
// it (a key missing from the line), else unchanged (an extra key).
func resync(next int, key string) int {
	for i := next; i < min(next+2, len(felixKeyOrder)); i++ {
		if felixKeyOrder[i] == key {
			return i + 1
		}
	}
	return next
}

// predictedKey consumes `,"key":` (or `"key":` for the first key) when
// that is exactly what follows, and the spaces after it.
func (p *scanner) predictedKey(first bool, quoted string) bool {
	i := p.i
	if !first {
		if i >= len(p.s) || p.s[i] != ',' {
			return false
		}
		i++
	}
	if len(p.s)-i < len(quoted) || p.s[i:i+len(quoted)] != quoted {
		return false
	}
	p.i = i + len(quoted)
	p.ws()
	return true
}

func checkRequired(seen uint32, names []string) error {
	for i, name := range names {
		if seen&(1<<i) == 0 {
			return &FieldError{Key: name, Reason: "required key is missing"}
		}
	}
	return nil
}

// time reads a window bound in Unix seconds.
func (p *scanner) time() (int64, error) {
	if null, err := p.isNull(); null || err != nil {
		if err == nil {
			err = p.fieldErr("must not be null")
		}
		return 0, err
	}
	v, err := p.int()
	if err == nil && (v < 0 || v > MaxTime) {
		err = p.fieldErr(fmt.Sprintf("%d is outside [0, %d] Unix seconds", v, MaxTime))
	}
	return v, err
}

func (p *scanner) optional() (OptInt, error) {
	v, ok, err := p.optInt()
	return OptInt{V: v, Valid: ok}, err
}

// field reads the value of one top-level flow key.
func (f *Flow) field(p *scanner, key string, seen *uint32) (err error) {
	switch key {
	case "start_time":
		*seen |= reqStartTime
		f.StartTime, err = p.time()
	case "end_time":
		*seen |= reqEndTime
		f.EndTime, err = p.time()
	case "source_ip":
		f.SourceIP, err = p.ip()
	case "source_name":
		f.SourceName, err = p.str()
	case "source_name_aggr":
		*seen |= reqSourceNameAggr
		f.SourceNameAggr, err = p.reqStr()
	case "source_namespace":
		*seen |= reqSourceNamespace
		f.SourceNamespace, err = p.reqStr()
	case "nat_outgoing_ports":
		f.NATOutgoingPorts, err = p.list(elemInt)
	case "source_port":
		f.SourcePort, err = p.optional()
	case "source_type":
		*seen |= reqSourceType
		f.SourceType, err = p.reqStr()
	case "source_labels":
		f.SourceLabels, f.SourceLabelsNull, err = p.labels()
	case "dest_ip":
		f.DestIP, err = p.ip()
	case "dest_name":
		f.DestName, err = p.str()
	case "dest_name_aggr":
		*seen |= reqDestNameAggr
		f.DestNameAggr, err = p.reqStr()
	case "dest_namespace":
		*seen |= reqDestNamespace
		f.DestNamespace, err = p.reqStr()
	case "dest_port":
		f.DestPort, err = p.optional()
	case "dest_type":
		*seen |= reqDestType
		f.DestType, err = p.reqStr()
	case "dest_labels":
		f.DestLabels, f.DestLabelsNull, err = p.labels()
	case "dest_service_namespace":
		f.DestServiceNamespace, err = p.str()
	case "dest_service_name":
		f.DestServiceName, err = p.str()
	case "dest_service_port":
		f.DestServicePort, err = p.str()
	case "dest_service_port_num":
		f.DestServicePortNum, err = p.optional()
	case "dest_domains":
		f.DestDomains, err = p.list(elemString)
	case "proto":
		*seen |= reqProto
		f.Proto, err = p.reqStr()
	case "action":
		*seen |= reqAction
		f.Action, err = p.reqStr()
	case "reporter":
		*seen |= reqReporter
		f.Reporter, err = p.reqStr()
	case "policies":
		f.PoliciesNull, err = p.policies(&f.Policies)
	case "verdict":
		f.Verdict, err = p.str()
	case "drop_reason_desc":
		f.DropReasonDesc, err = p.str()
	default:
		return f.counter(p, key)
	}
	return err
}

// counter reads the numeric and process keys of a flow line (and skips
// unknown keys).
func (f *Flow) counter(p *scanner, key string) (err error) {
	var dst *int64
	switch key {
	case "bytes_in":
		dst = &f.BytesIn
	case "bytes_out":
		dst = &f.BytesOut
	case "num_flows":
		dst = &f.NumFlows
	case "num_flows_started":
		dst = &f.NumFlowsStarted
	case "num_flows_completed":
		dst = &f.NumFlowsCompleted
	case "packets_in":
		dst = &f.PacketsIn
	case "packets_out":
		dst = &f.PacketsOut
	case "http_requests_allowed_in":
		dst = &f.HTTPRequestsAllowedIn
	case "http_requests_denied_in":
		dst = &f.HTTPRequestsDeniedIn
	case "num_process_names":
		dst = &f.NumProcessNames
	case "num_process_ids":
		dst = &f.NumProcessIDs
	case "num_process_args":
		dst = &f.NumProcessArgs
	case "num_original_source_ips":
		dst = &f.NumOriginalSourceIPs
	case "tcp_mean_send_congestion_window":
		dst = &f.TCPMeanSendCongestionWindow
	case "tcp_min_send_congestion_window":
		dst = &f.TCPMinSendCongestionWin
	case "tcp_mean_smooth_rtt":
		dst = &f.TCPMeanSmoothRTT
	case "tcp_max_smooth_rtt":
		dst = &f.TCPMaxSmoothRTT
	case "tcp_mean_min_rtt":
		dst = &f.TCPMeanMinRTT
	case "tcp_max_min_rtt":
		dst = &f.TCPMaxMinRTT
	case "tcp_mean_mss":
		dst = &f.TCPMeanMSS
	case "tcp_min_mss":
		dst = &f.TCPMinMSS
	case "tcp_total_retransmissions":
		dst = &f.TCPTotalRetransmissions
	case "tcp_lost_packets":
		dst = &f.TCPLostPackets
	case "tcp_unrecovered_to":
		dst = &f.TCPUnrecoveredTO
	case "process_name":
		f.ProcessName, err = p.str()
		return err
	case "process_id":
		f.ProcessID, err = p.str()
		return err
	case "process_args":
		f.ProcessArgs, err = p.list(elemString)
		return err
	case "original_source_ips":
		f.OriginalSourceIPs, err = p.list(elemIP)
		return err
	default:
		return p.skipValue(1)
	}
	*dst, err = p.int()
	return err
}

// labels reads {"labels":[...]} or null.
func (p *scanner) labels() (l List, null bool, err error) {
	if null, err := p.isNull(); null || err != nil {
		return List{}, null, err
	}
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return List{}, false, p.wrongType("object {\"labels\":[...]}")
	}
	p.i++
	p.outer = p.key
	for first := true; ; {
		key, more, err := p.nextKey(&first)
		if err != nil || !more {
			p.outer, p.key = "", p.outer
			return l, false, err
		}
		p.key = key
		if key == "labels" {
			l, err = p.list(elemString)
		} else {
			err = p.skipValue(2)
		}
		if err != nil {
			return List{}, false, err
		}
	}
}

// policies reads the policies object (spec §2.3) or null.
func (p *scanner) policies(dst *Policies) (null bool, err error) {
	if null, err := p.isNull(); null || err != nil {
		return null, err
	}
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return false, p.wrongType("object")
	}
	p.i++
	p.outer = p.key
	for first := true; ; {
		key, more, err := p.nextKey(&first)
		if err != nil || !more {
			p.outer, p.key = "", p.outer
			return false, err
		}
		p.key = key
		switch key {
		case "all_policies":
			dst.All, err = p.list(elemString)
		case "enforced_policies":
			dst.Enforced, err = p.list(elemString)
		case "pending_policies":
			dst.Pending, err = p.list(elemString)
		case "transit_policies":
			dst.Transit, err = p.list(elemString)
		default:
			err = p.skipValue(2)
		}
		if err != nil {
			return false, err
		}
	}
}
