package schema

// Meta is what flowship adds to every document, next to Calico's own
// fields (which keep their names and types so existing Calico queries and
// dashboards work). JSON names: "cluster", "host", and the object
// "flowship" {"schema", "id", "bucket_start", "bucket_end", "records",
// "level"}.
type Meta struct {
	Cluster     string // JSON "cluster": cluster name (Linseed's field)
	Host        string // JSON "host": node name (fluentd's field)
	ID          string // JSON "flowship.id": the document _id
	BucketStart int64  // JSON "flowship.bucket_start": event-time window start, Unix seconds
	BucketEnd   int64  // JSON "flowship.bucket_end": window end (exclusive), Unix seconds
	Records     int64  // JSON "flowship.records": input lines merged into this document
	Level       int    // JSON "flowship.level": aggregation level applied (flows; -1 when not applicable, then not written)
}

// FlowDoc is an aggregated flow document. It owns its data. Its JSON is a
// flows.log line with the same keys and types (null, "-" and "*" kept as
// Calico writes them), plus Meta, plus "@timestamp" (end_time*1000, as
// fluentd added it) and "policy": the parsed deciding entry of
// enforced_policies {"tier","name","action","rule","index","staged"} —
// the entry with the highest index, i.e. the policy whose verdict stood.
type FlowDoc struct {
	Meta Meta

	StartTime, EndTime int64

	SourceIP         *string
	SourceName       string
	SourceNameAggr   string
	SourceNamespace  string
	NATOutgoingPorts []int64 // nil → null
	SourcePort       OptInt
	SourceType       string
	SourceLabels     []string // nil with SourceLabelsNull → null
	SourceLabelsNull bool

	DestIP         *string
	DestName       string
	DestNameAggr   string
	DestNamespace  string
	DestPort       OptInt
	DestType       string
	DestLabels     []string
	DestLabelsNull bool

	DestServiceNamespace string
	DestServiceName      string
	DestServicePort      string
	DestServicePortNum   OptInt
	DestDomains          []string // nil → null

	Proto    string
	Action   string
	Reporter string

	// Policy traces; PoliciesNull writes "policies":null.
	AllPolicies, EnforcedPolicies, PendingPolicies, TransitPolicies []string
	PoliciesNull                                                    bool

	BytesIn, BytesOut                            int64
	NumFlows, NumFlowsStarted, NumFlowsCompleted int64
	PacketsIn, PacketsOut                        int64
	HTTPRequestsAllowedIn, HTTPRequestsDeniedIn  int64

	ProcessName          string
	NumProcessNames      int64
	ProcessID            string
	NumProcessIDs        int64
	ProcessArgs          []string
	NumProcessArgs       int64
	OriginalSourceIPs    []string // nil → null
	NumOriginalSourceIPs int64

	TCPMeanSendCongestionWindow, TCPMinSendCongestionWin int64
	TCPMeanSmoothRTT, TCPMaxSmoothRTT                    int64
	TCPMeanMinRTT, TCPMaxMinRTT                          int64
	TCPMeanMSS, TCPMinMSS                                int64
	TCPTotalRetransmissions, TCPLostPackets              int64
	TCPUnrecoveredTO                                     int64
	Verdict, DropReasonDesc                              string // Hubble only; written when non-empty
	// PolicyHits is Goldmane's structured policy trace (raw JSON), written
	// as "goldmane_policy_hits" when set (documents of flowship receive only;
	// the indexer adds "policy_hits", the list every flow document has).
	PolicyHits []byte
}

// L7Doc is an aggregated L7 document: the l7.log keys and types plus Meta
// and "@timestamp" (end_time*1000).
type L7Doc struct {
	Meta Meta
	L7   L7 // strings owned (cloned), not views
}

// DNSDoc is an aggregated DNS document: the dns.log keys and types plus
// Meta. start_time/end_time are written back as RFC 3339 with nanoseconds;
// @timestamp is not written (the mapping aliases it to end_time).
type DNSDoc struct {
	Meta Meta
	// DNS owns its strings (see DNS.Clone). ClientLabels, Servers and
	// RRSets hold raw JSON; build a merged, deduplicated server or rrset
	// list with RawList.
	DNS DNS
}
