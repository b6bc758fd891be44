// Package schema owns the field names, parsed views, document shapes,
// Elasticsearch mappings and schema version of every kind flowship ships:
// Calico flow logs, Envoy/Felix L7 logs and DNS logs
// (../shared/spec/calico-flow-logs.md §2, §4.5, §5).
//
// Parsed views (Flow, L7, DNS) alias the bytes of the line they were parsed
// from: their strings and Lists are valid only while that line is. Call
// Clone (or copy the fields you keep) before retaining them. Documents
// (FlowDoc, L7Doc, DNSDoc) own their data and are what the aggregator emits.
package schema

// Version is the schema version carried in every document (field
// "flowship.schema") and in the Kafka header "schema". Bump it on any
// incompatible change to a document or mapping.
const Version = 1

// Sentinels used by Calico (spec §0).
const (
	NotIncluded = "-" // masked, disabled or not applicable
	Aggregated  = "*" // several values folded together
)

// OptInt is a JSON integer that may be null.
type OptInt struct {
	V     int64
	Valid bool // false when the JSON value was null or absent
}

// List is a lazily decoded JSON array: Raw is the array's JSON text
// (aliasing the line), empty when the value was null, absent or [].
// Consumers must treat null and [] alike (spec §0).
type List struct {
	Raw string
}

// Flow is the parsed view of one flows.log line (spec §2.1). Strings
// hold the JSON string values as written ("-" and "*" kept); a JSON null
// in a string field reads as "".
type Flow struct {
	StartTime, EndTime int64 // Unix seconds

	SourceIP         string // "" when null
	SourceName       string
	SourceNameAggr   string
	SourceNamespace  string
	NATOutgoingPorts List // of ints
	SourcePort       OptInt
	SourceType       string
	SourceLabels     List // the "labels" array inside source_labels; empty when null
	SourceLabelsNull bool // source_labels was null (label inclusion off)

	DestIP         string
	DestName       string
	DestNameAggr   string
	DestNamespace  string
	DestPort       OptInt
	DestType       string
	DestLabels     List
	DestLabelsNull bool

	DestServiceNamespace string
	DestServiceName      string
	DestServicePort      string // the port NAME in flow logs
	DestServicePortNum   OptInt
	DestDomains          List // of strings

	Proto    string
	Action   string // allow | deny
	Reporter string // src | dst | fwd

	Policies     Policies
	PoliciesNull bool // policies was null (policy inclusion off)

	BytesIn, BytesOut                                    int64
	NumFlows, NumFlowsStarted, NumFlowsCompleted         int64
	PacketsIn, PacketsOut                                int64
	HTTPRequestsAllowedIn, HTTPRequestsDeniedIn          int64
	ProcessName                                          string
	NumProcessNames                                      int64
	ProcessID                                            string
	NumProcessIDs                                        int64
	ProcessArgs                                          List // of strings
	NumProcessArgs                                       int64
	OriginalSourceIPs                                    List // of strings
	NumOriginalSourceIPs                                 int64
	TCPMeanSendCongestionWindow, TCPMinSendCongestionWin int64
	TCPMeanSmoothRTT, TCPMaxSmoothRTT                    int64
	TCPMeanMinRTT, TCPMaxMinRTT                          int64
	TCPMeanMSS, TCPMinMSS                                int64
	TCPTotalRetransmissions, TCPLostPackets              int64
	TCPUnrecoveredTO                                     int64

	// Hubble-mapped lines only (docs/sources.md); "" for Felix lines.
	Verdict        string // Hubble verdict as written: FORWARDED, DROPPED, AUDIT, ERROR, …
	DropReasonDesc string // Hubble drop reason of a DROPPED flow
}

// Policies holds the policy-trace arrays of a flow line (spec §2.3). Each
// element is "<index>|<tier>|<name>|<action>|<rule>" or the legacy
// 4-part form without the rule index; see ParsePolicy.
type Policies struct {
	All, Enforced, Pending, Transit List
}

// Policy is one parsed policy-trace entry.
type Policy struct {
	Index  int    // position in the evaluation trace
	Tier   string // tier name, "__PROFILE__" for profiles
	Name   string // name part as Calico writes it, without a "<kind>:" prefix
	Action string // allow | deny | pass
	Rule   int    // matching rule index; -1 tier default (end of tier); -2 unknown (and "-", and the legacy 4-part form)
	Staged bool   // a staged kind (snp, sgnp, sknp) or a name carrying "staged:"

	Kind      string // np, gnp, snp, sgnp, sknp, knp, kcnp, pro, eot, …: written or derived (see ParsePolicy)
	Namespace string // namespace of a namespaced policy, else ""
	EndOfTier bool   // kind eot or rule -1: the tier's default action decided
}

// L7 is the parsed view of one l7.log line (spec §4.5).
type L7 struct {
	StartTime, EndTime  int64 // Unix seconds
	DurationMean        int64 // ns
	DurationMax         int64 // ns
	Latency             int64 // ns, a SUM over the requests
	BytesIn, BytesOut   int64
	Count               int64
	SrcNameAggr         string
	SrcNamespace        string
	SrcType             string
	SourcePortNum       int64
	DestNameAggr        string
	DestNamespace       string
	DestType            string
	DestPortNum         int64
	DestServiceName     string
	DestServiceNS       string
	DestServicePortName string
	DestServicePort     int64 // the port NUMBER in L7 logs
	Method              string
	UserAgent           string
	URL                 string
	ResponseCode        string
	Type                string
	// Optional newer fields (eBPF / waypoint collectors); "" when absent.
	Protocol, ProtocolVersion, CollectorType, CollectorName string
	TLSSNI, TLSVersion, TLSCipherSuite                      string
	Verdict                                                 string // Hubble verdict (FORWARDED, DROPPED); "" for Envoy lines
}

// DNS is the parsed view of one dns.log line (spec §5).
type DNS struct {
	StartTime, EndTime int64 // Unix nanoseconds, parsed from RFC 3339
	Type               string
	Count              int64
	ClientName         string
	ClientNameAggr     string
	ClientNamespace    string
	ClientIP           string // "" when null
	ClientLabels       string // raw JSON object text, "" when null
	Servers            List   // of {name,name_aggr,namespace,ip,labels}
	QName              string
	QClass             string
	QType              string
	RCode              string
	RRSets             List // of {name,class,type,rdata}
	LatencyCount       int64
	LatencyMean        int64 // ns
	LatencyMax         int64 // ns
}
