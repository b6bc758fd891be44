package aggregator

import (
	"sort"
	"strings"

	"github.com/flowship/flowship/schema"
)

// fieldType says how a field is read and which filter operators apply.
type fieldType uint8

const (
	tStr     fieldType = iota // string; "", "-" are "absent"
	tIP                       // string holding an IP address ("" when null)
	tInt                      // integer, always present
	tOptInt                   // integer that may be null
	tStrList                  // JSON array of strings
	tIPList                   // JSON array of IP address strings
	tIntList                  // JSON array of integers
	tPolicy                   // policy-trace array; elements matched on one part
)

func (t fieldType) String() string {
	return [...]string{"string", "ip", "integer", "integer", "string list", "ip list", "integer list", "policy list"}[t]
}

// field reads one named field of a parsed view T without allocating.
type field[T any] struct {
	typ  fieldType
	str  func(*T) string
	num  func(*T) (int64, bool)
	list func(*T) schema.List
	elem func(string) string // tPolicy: the part of an entry that is matched
}

func fStr[T any](get func(*T) string) field[T] { return field[T]{typ: tStr, str: get} }
func fIP[T any](get func(*T) string) field[T]  { return field[T]{typ: tIP, str: get} }
func fInt[T any](get func(*T) int64) field[T] {
	return field[T]{typ: tInt, num: func(v *T) (int64, bool) { return get(v), true }}
}
func fOpt[T any](get func(*T) schema.OptInt) field[T] {
	return field[T]{typ: tOptInt, num: func(v *T) (int64, bool) { o := get(v); return o.V, o.Valid }}
}
func fList[T any](typ fieldType, get func(*T) schema.List) field[T] {
	return field[T]{typ: typ, list: get}
}
func fPolicy[T any](get func(*T) schema.List, part int) field[T] {
	return field[T]{typ: tPolicy, list: get, elem: func(s string) string { return policyPart(s, part) }}
}

// policyPart returns the part-th '|'-separated part of a policy entry
// ("<index>|<tier>|<name>|<action>|<rule>"), "" when absent.
func policyPart(s string, part int) string {
	for i := 0; i < part; i++ {
		j := strings.IndexByte(s, '|')
		if j < 0 {
			return ""
		}
		s = s[j+1:]
	}
	if j := strings.IndexByte(s, '|'); j >= 0 {
		return s[:j]
	}
	return s
}

type flowFieldSet = map[string]field[schema.Flow]

// flowFields are the flows.log fields by Calico JSON name, plus
// "policies" (names of the enforced policies), "policy_tiers" (their
// tiers), "policy_actions", "all_policies" and "pending_policies" (names).
var flowFields = flowFieldSet{
	"start_time":                      fInt(func(f *schema.Flow) int64 { return f.StartTime }),
	"end_time":                        fInt(func(f *schema.Flow) int64 { return f.EndTime }),
	"source_ip":                       fIP(func(f *schema.Flow) string { return f.SourceIP }),
	"source_name":                     fStr(func(f *schema.Flow) string { return f.SourceName }),
	"source_name_aggr":                fStr(func(f *schema.Flow) string { return f.SourceNameAggr }),
	"source_namespace":                fStr(func(f *schema.Flow) string { return f.SourceNamespace }),
	"nat_outgoing_ports":              fList(tIntList, func(f *schema.Flow) schema.List { return f.NATOutgoingPorts }),
	"source_port":                     fOpt(func(f *schema.Flow) schema.OptInt { return f.SourcePort }),
	"source_type":                     fStr(func(f *schema.Flow) string { return f.SourceType }),
	"source_labels":                   fList(tStrList, func(f *schema.Flow) schema.List { return f.SourceLabels }),
	"dest_ip":                         fIP(func(f *schema.Flow) string { return f.DestIP }),
	"dest_name":                       fStr(func(f *schema.Flow) string { return f.DestName }),
	"dest_name_aggr":                  fStr(func(f *schema.Flow) string { return f.DestNameAggr }),
	"dest_namespace":                  fStr(func(f *schema.Flow) string { return f.DestNamespace }),
	"dest_port":                       fOpt(func(f *schema.Flow) schema.OptInt { return f.DestPort }),
	"dest_type":                       fStr(func(f *schema.Flow) string { return f.DestType }),
	"dest_labels":                     fList(tStrList, func(f *schema.Flow) schema.List { return f.DestLabels }),
	"dest_service_namespace":          fStr(func(f *schema.Flow) string { return f.DestServiceNamespace }),
	"dest_service_name":               fStr(func(f *schema.Flow) string { return f.DestServiceName }),
	"dest_service_port":               fStr(func(f *schema.Flow) string { return f.DestServicePort }),
	"dest_service_port_num":           fOpt(func(f *schema.Flow) schema.OptInt { return f.DestServicePortNum }),
	"dest_domains":                    fList(tStrList, func(f *schema.Flow) schema.List { return f.DestDomains }),
	"proto":                           fStr(func(f *schema.Flow) string { return f.Proto }),
	"action":                          fStr(func(f *schema.Flow) string { return f.Action }),
	"reporter":                        fStr(func(f *schema.Flow) string { return f.Reporter }),
	"policies":                        fPolicy(func(f *schema.Flow) schema.List { return f.Policies.Enforced }, 2),
	"policy_tiers":                    fPolicy(func(f *schema.Flow) schema.List { return f.Policies.Enforced }, 1),
	"policy_actions":                  fPolicy(func(f *schema.Flow) schema.List { return f.Policies.Enforced }, 3),
	"all_policies":                    fPolicy(func(f *schema.Flow) schema.List { return f.Policies.All }, 2),
	"pending_policies":                fPolicy(func(f *schema.Flow) schema.List { return f.Policies.Pending }, 2),
	"bytes_in":                        fInt(func(f *schema.Flow) int64 { return f.BytesIn }),
	"bytes_out":                       fInt(func(f *schema.Flow) int64 { return f.BytesOut }),
	"num_flows":                       fInt(func(f *schema.Flow) int64 { return f.NumFlows }),
	"num_flows_started":               fInt(func(f *schema.Flow) int64 { return f.NumFlowsStarted }),
	"num_flows_completed":             fInt(func(f *schema.Flow) int64 { return f.NumFlowsCompleted }),
	"packets_in":                      fInt(func(f *schema.Flow) int64 { return f.PacketsIn }),
	"packets_out":                     fInt(func(f *schema.Flow) int64 { return f.PacketsOut }),
	"http_requests_allowed_in":        fInt(func(f *schema.Flow) int64 { return f.HTTPRequestsAllowedIn }),
	"http_requests_denied_in":         fInt(func(f *schema.Flow) int64 { return f.HTTPRequestsDeniedIn }),
	"process_name":                    fStr(func(f *schema.Flow) string { return f.ProcessName }),
	"num_process_names":               fInt(func(f *schema.Flow) int64 { return f.NumProcessNames }),
	"process_id":                      fStr(func(f *schema.Flow) string { return f.ProcessID }),
	"num_process_ids":                 fInt(func(f *schema.Flow) int64 { return f.NumProcessIDs }),
	"process_args":                    fList(tStrList, func(f *schema.Flow) schema.List { return f.ProcessArgs }),
	"num_process_args":                fInt(func(f *schema.Flow) int64 { return f.NumProcessArgs }),
	"original_source_ips":             fList(tIPList, func(f *schema.Flow) schema.List { return f.OriginalSourceIPs }),
	"num_original_source_ips":         fInt(func(f *schema.Flow) int64 { return f.NumOriginalSourceIPs }),
	"tcp_mean_send_congestion_window": fInt(func(f *schema.Flow) int64 { return f.TCPMeanSendCongestionWindow }),
	"tcp_min_send_congestion_window":  fInt(func(f *schema.Flow) int64 { return f.TCPMinSendCongestionWin }),
	"tcp_mean_smooth_rtt":             fInt(func(f *schema.Flow) int64 { return f.TCPMeanSmoothRTT }),
	"tcp_max_smooth_rtt":              fInt(func(f *schema.Flow) int64 { return f.TCPMaxSmoothRTT }),
	"tcp_mean_min_rtt":                fInt(func(f *schema.Flow) int64 { return f.TCPMeanMinRTT }),
	"tcp_max_min_rtt":                 fInt(func(f *schema.Flow) int64 { return f.TCPMaxMinRTT }),
	"tcp_mean_mss":                    fInt(func(f *schema.Flow) int64 { return f.TCPMeanMSS }),
	"tcp_min_mss":                     fInt(func(f *schema.Flow) int64 { return f.TCPMinMSS }),
	"tcp_total_retransmissions":       fInt(func(f *schema.Flow) int64 { return f.TCPTotalRetransmissions }),
	"tcp_lost_packets":                fInt(func(f *schema.Flow) int64 { return f.TCPLostPackets }),
	"tcp_unrecovered_to":              fInt(func(f *schema.Flow) int64 { return f.TCPUnrecoveredTO }),
}

// l7Fields are the l7.log fields by JSON name.
var l7Fields = map[string]field[schema.L7]{
	"start_time":             fInt(func(l *schema.L7) int64 { return l.StartTime }),
	"end_time":               fInt(func(l *schema.L7) int64 { return l.EndTime }),
	"duration_mean":          fInt(func(l *schema.L7) int64 { return l.DurationMean }),
	"duration_max":           fInt(func(l *schema.L7) int64 { return l.DurationMax }),
	"latency":                fInt(func(l *schema.L7) int64 { return l.Latency }),
	"bytes_in":               fInt(func(l *schema.L7) int64 { return l.BytesIn }),
	"bytes_out":              fInt(func(l *schema.L7) int64 { return l.BytesOut }),
	"count":                  fInt(func(l *schema.L7) int64 { return l.Count }),
	"src_name_aggr":          fStr(func(l *schema.L7) string { return l.SrcNameAggr }),
	"src_namespace":          fStr(func(l *schema.L7) string { return l.SrcNamespace }),
	"src_type":               fStr(func(l *schema.L7) string { return l.SrcType }),
	"source_port_num":        fInt(func(l *schema.L7) int64 { return l.SourcePortNum }),
	"dest_name_aggr":         fStr(func(l *schema.L7) string { return l.DestNameAggr }),
	"dest_namespace":         fStr(func(l *schema.L7) string { return l.DestNamespace }),
	"dest_type":              fStr(func(l *schema.L7) string { return l.DestType }),
	"dest_port_num":          fInt(func(l *schema.L7) int64 { return l.DestPortNum }),
	"dest_service_name":      fStr(func(l *schema.L7) string { return l.DestServiceName }),
	"dest_service_namespace": fStr(func(l *schema.L7) string { return l.DestServiceNS }),
	"dest_service_port_name": fStr(func(l *schema.L7) string { return l.DestServicePortName }),
	"dest_service_port":      fInt(func(l *schema.L7) int64 { return l.DestServicePort }),
	"method":                 fStr(func(l *schema.L7) string { return l.Method }),
	"user_agent":             fStr(func(l *schema.L7) string { return l.UserAgent }),
	"url":                    fStr(func(l *schema.L7) string { return l.URL }),
	"response_code":          fStr(func(l *schema.L7) string { return l.ResponseCode }),
	"type":                   fStr(func(l *schema.L7) string { return l.Type }),
	"protocol":               fStr(func(l *schema.L7) string { return l.Protocol }),
	"protocol_version":       fStr(func(l *schema.L7) string { return l.ProtocolVersion }),
	"collector_type":         fStr(func(l *schema.L7) string { return l.CollectorType }),
	"collector_name":         fStr(func(l *schema.L7) string { return l.CollectorName }),
	"tls_sni":                fStr(func(l *schema.L7) string { return l.TLSSNI }),
	"tls_version":            fStr(func(l *schema.L7) string { return l.TLSVersion }),
	"tls_cipher_suite":       fStr(func(l *schema.L7) string { return l.TLSCipherSuite }),
}

// dnsFields are the dns.log fields by JSON name.
var dnsFields = map[string]field[schema.DNS]{
	"type":             fStr(func(d *schema.DNS) string { return d.Type }),
	"count":            fInt(func(d *schema.DNS) int64 { return d.Count }),
	"client_name":      fStr(func(d *schema.DNS) string { return d.ClientName }),
	"client_name_aggr": fStr(func(d *schema.DNS) string { return d.ClientNameAggr }),
	"client_namespace": fStr(func(d *schema.DNS) string { return d.ClientNamespace }),
	"client_ip":        fIP(func(d *schema.DNS) string { return d.ClientIP }),
	"qname":            fStr(func(d *schema.DNS) string { return d.QName }),
	"qclass":           fStr(func(d *schema.DNS) string { return d.QClass }),
	"qtype":            fStr(func(d *schema.DNS) string { return d.QType }),
	"rcode":            fStr(func(d *schema.DNS) string { return d.RCode }),
	"latency_count":    fInt(func(d *schema.DNS) int64 { return d.LatencyCount }),
	"latency_mean":     fInt(func(d *schema.DNS) int64 { return d.LatencyMean }),
	"latency_max":      fInt(func(d *schema.DNS) int64 { return d.LatencyMax }),
}

// fieldNames lists the keys of m, sorted, for error messages.
func fieldNames[T any](m map[string]field[T]) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// absent reports whether a string value means "not there" (spec §0).
func absent(s string) bool { return s == "" || s == schema.NotIncluded }
