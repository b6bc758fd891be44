package synth

import (
	"math/rand/v2"
	"slices"
	"strconv"
)

// flowLine is one flows.log line with Felix's keys in Felix's order
// (spec §2.1); encoding/json writes it exactly as Felix does.
type flowLine struct {
	StartTime            int64     `json:"start_time"`
	EndTime              int64     `json:"end_time"`
	SourceIP             *string   `json:"source_ip"`
	SourceName           string    `json:"source_name"`
	SourceNameAggr       string    `json:"source_name_aggr"`
	SourceNamespace      string    `json:"source_namespace"`
	NATOutgoingPorts     []int     `json:"nat_outgoing_ports"`
	SourcePort           *int      `json:"source_port"`
	SourceType           string    `json:"source_type"`
	SourceLabels         *labelSet `json:"source_labels"`
	DestIP               *string   `json:"dest_ip"`
	DestName             string    `json:"dest_name"`
	DestNameAggr         string    `json:"dest_name_aggr"`
	DestNamespace        string    `json:"dest_namespace"`
	DestPort             *int      `json:"dest_port"`
	DestType             string    `json:"dest_type"`
	DestLabels           *labelSet `json:"dest_labels"`
	DestServiceNamespace string    `json:"dest_service_namespace"`
	DestServiceName      string    `json:"dest_service_name"`
	DestServicePort      string    `json:"dest_service_port"`
	DestServicePortNum   *int      `json:"dest_service_port_num"`
	DestDomains          []string  `json:"dest_domains"`
	Proto                string    `json:"proto"`
	Action               string    `json:"action"`
	Reporter             string    `json:"reporter"`
	Policies             *policies `json:"policies"`
	BytesIn              int64     `json:"bytes_in"`
	BytesOut             int64     `json:"bytes_out"`
	NumFlows             int64     `json:"num_flows"`
	NumFlowsStarted      int64     `json:"num_flows_started"`
	NumFlowsCompleted    int64     `json:"num_flows_completed"`
	PacketsIn            int64     `json:"packets_in"`
	PacketsOut           int64     `json:"packets_out"`
	HTTPAllowedIn        int64     `json:"http_requests_allowed_in"`
	HTTPDeniedIn         int64     `json:"http_requests_denied_in"`
	ProcessName          string    `json:"process_name"`
	NumProcessNames      int64     `json:"num_process_names"`
	ProcessID            string    `json:"process_id"`
	NumProcessIDs        int64     `json:"num_process_ids"`
	ProcessArgs          []string  `json:"process_args"`
	NumProcessArgs       int64     `json:"num_process_args"`
	OriginalSourceIPs    []string  `json:"original_source_ips"`
	NumOriginalSourceIPs int64     `json:"num_original_source_ips"`
	TCPMeanSendCwnd      int64     `json:"tcp_mean_send_congestion_window"`
	TCPMinSendCwnd       int64     `json:"tcp_min_send_congestion_window"`
	TCPMeanSmoothRTT     int64     `json:"tcp_mean_smooth_rtt"`
	TCPMaxSmoothRTT      int64     `json:"tcp_max_smooth_rtt"`
	TCPMeanMinRTT        int64     `json:"tcp_mean_min_rtt"`
	TCPMaxMinRTT         int64     `json:"tcp_max_min_rtt"`
	TCPMeanMSS           int64     `json:"tcp_mean_mss"`
	TCPMinMSS            int64     `json:"tcp_min_mss"`
	TCPRetransmissions   int64     `json:"tcp_total_retransmissions"`
	TCPLostPackets       int64     `json:"tcp_lost_packets"`
	TCPUnrecoveredTO     int64     `json:"tcp_unrecovered_to"`
}

type labelSet struct {
	Labels []string `json:"labels"`
}

type policies struct {
	All      []string `json:"all_policies"`
	Enforced []string `json:"enforced_policies"`
	Pending  []string `json:"pending_policies"`
}

// endpoint is one side of a conversation.
type endpoint struct {
	w   *workload // nil for net endpoints
	ext *external
}

// conversation is a recurring (source workload → destination) pair; its
// verdict and policy trace stay the same across windows.
type conversation struct {
	src, dst endpoint
	svc      *service // addressed service, nil for direct traffic
	port     int
	proto    string
	denied   bool
	staged   bool
	trace    [2]*policies // by reporter: 0 src (egress), 1 dst (ingress)
	web      bool         // HTTP, so it also shows up in l7.log
}

func newConversations(cfg Config, t *topology, r *rand.Rand) []*conversation {
	n := max(10, cfg.FlowsPerWindow/4)
	out := make([]*conversation, 0, n)
	for len(out) < n {
		c := &conversation{proto: "tcp", denied: r.Float64() < cfg.DenyRatio, staged: r.Float64() < cfg.StagedShare}
		src := t.workloads[1+r.IntN(len(t.workloads)-1)]
		c.src = endpoint{w: src}
		switch u := r.Float64(); {
		case u < cfg.ExternalShare:
			e := &t.externals[r.IntN(len(t.externals))]
			c.dst, c.port = endpoint{ext: e}, 443
			if r.IntN(5) == 0 { // inbound from outside
				c.src, c.dst = c.dst, endpoint{w: src}
				c.port = 8080
			}
		case u < cfg.ExternalShare+0.1:
			c.dst, c.svc, c.port, c.proto = endpoint{w: t.dns}, t.dns.svc, 53, "udp"
		default:
			dst := t.workloads[1+r.IntN(len(t.workloads)-1)]
			c.dst, c.port = endpoint{w: dst}, 8080
			if dst.svc != nil && r.Float64() < 0.8 {
				c.svc, c.port = dst.svc, dst.svc.targetPort
				c.web = dst.svc.portName == "http" || dst.svc.portName == ""
			}
		}
		c.trace[0] = buildTrace(c, c.src, r, "egress")
		c.trace[1] = buildTrace(c, c.dst, r, "ingress")
		out = append(out, c)
	}
	return out
}

// buildTrace makes the policy trace the reporting endpoint e sees (§2.3).
func buildTrace(c *conversation, e endpoint, r *rand.Rand, dir string) *policies {
	if e.w == nil {
		return &policies{}
	}
	type hit struct {
		tier, name, action string
		rule               int
		staged             bool
	}
	ns := e.w.ns
	var hits []hit
	if r.IntN(2) == 0 {
		hits = append(hits, hit{"platform", "platform.baseline-" + dir, "pass", r.IntN(4), false})
	}
	if c.staged {
		hits = append(hits, hit{"security", "security.staged:quarantine-" + ns, "deny", 0, true})
	}
	switch {
	case c.denied && r.IntN(2) == 0:
		hits = append(hits, hit{"security", "security.block-" + ns + "-" + dir, "deny", r.IntN(3), false})
	case c.denied:
		hits = append(hits, hit{"default", ns + "/knp.default." + e.w.name + "-" + dir, "deny", -1, false})
	case r.IntN(3) == 0:
		hits = append(hits, hit{"__PROFILE__", "__PROFILE__.kns." + ns, "allow", 0, false})
	default:
		hits = append(hits, hit{"default", ns + "/default." + e.w.name + "-" + dir, "allow", r.IntN(3), false})
	}
	p := &policies{}
	for i, h := range hits {
		p.All = append(p.All, policyString(i, h.tier, h.name, h.action, h.rule))
		p.Pending = append(p.Pending, policyString(i, h.tier, h.name, h.action, h.rule))
	}
	i := 0
	for _, h := range hits {
		if !h.staged {
			p.Enforced = append(p.Enforced, policyString(i, h.tier, h.name, h.action, h.rule))
			i++
		}
	}
	return p
}

func policyString(i int, tier, name, action string, rule int) string {
	return strconv.Itoa(i) + "|" + tier + "|" + name + "|" + action + "|" + strconv.Itoa(rule)
}

// intersect keeps the labels of a that are also in b, in a's order.
func intersect(a, b []string) []string {
	out := make([]string, 0, len(a))
	for _, l := range a {
		if slices.Contains(b, l) {
			out = append(out, l)
		}
	}
	return out
}

// mergeFlow folds o into f (same aggregation key, §3.4).
func mergeFlow(f, o *flowLine) {
	f.BytesIn += o.BytesIn
	f.BytesOut += o.BytesOut
	f.PacketsIn += o.PacketsIn
	f.PacketsOut += o.PacketsOut
	f.NumFlows += o.NumFlows
	f.NumFlowsStarted += o.NumFlowsStarted
	f.NumFlowsCompleted += o.NumFlowsCompleted
	if f.SourceLabels != nil && o.SourceLabels != nil {
		f.SourceLabels = &labelSet{intersect(f.SourceLabels.Labels, o.SourceLabels.Labels)}
	}
	if f.DestLabels != nil && o.DestLabels != nil {
		f.DestLabels = &labelSet{intersect(f.DestLabels.Labels, o.DestLabels.Labels)}
	}
	for _, p := range o.NATOutgoingPorts {
		if len(f.NATOutgoingPorts) < 3 && !slices.Contains(f.NATOutgoingPorts, p) {
			f.NATOutgoingPorts = append(f.NATOutgoingPorts, p)
			slices.Sort(f.NATOutgoingPorts)
		}
	}
	if f.ProcessID != o.ProcessID && f.ProcessID != "-" {
		f.ProcessID = "*"
		f.NumProcessIDs += o.NumProcessIDs
	}
}
