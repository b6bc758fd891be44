package schema

// AppendFlowDoc appends d as one JSON object (no newline) to dst: the
// flows.log keys in Felix's order with Calico's JSON types, then "policy"
// (the deciding enforced policy, omitted when there is none or policies
// is null), "host", "cluster", "@timestamp" (end_time*1000) and
// "flowship". Labels, policies and the nullable lists are written as null
// exactly when the FlowDoc says so (see its field docs); policy arrays
// inside a non-null policies object are written as [] when nil, and
// transit_policies only when non-empty.
func AppendFlowDoc(dst []byte, d *FlowDoc) []byte {
	e := enc{b: append(dst, '{')}
	e.flowSource(d)
	e.flowDest(d)
	e.flowPolicies(d)
	e.flowCounters(d)
	e.optional("verdict", d.Verdict)
	e.optional("drop_reason_desc", d.DropReasonDesc)
	if pol, ok := decidingPolicy(d.EnforcedPolicies); ok && !d.PoliciesNull {
		e.open("policy")
		e.str("tier", pol.Tier)
		e.str("name", pol.Name)
		e.str("action", pol.Action)
		e.int("rule", int64(pol.Rule))
		e.int("index", int64(pol.Index))
		e.bool("staged", pol.Staged)
		e.str("kind", pol.Kind)
		if pol.Namespace != "" {
			e.str("namespace", pol.Namespace)
		}
		e.bool("end_of_tier", pol.EndOfTier)
		e.close()
	}
	if len(d.PolicyHits) > 0 {
		e.raw("goldmane_policy_hits", string(d.PolicyHits))
	}
	e.meta(&d.Meta, d.EndTime*1000)
	e.close()
	return e.b
}

func (e *enc) labels(k string, v []string, null bool) {
	if null {
		e.raw(k, "")
		return
	}
	e.open(k)
	e.strs("labels", v, false)
	e.close()
}

func (e *enc) flowSource(d *FlowDoc) {
	e.int("start_time", d.StartTime)
	e.int("end_time", d.EndTime)
	e.optStr("source_ip", d.SourceIP)
	e.str("source_name", d.SourceName)
	e.str("source_name_aggr", d.SourceNameAggr)
	e.str("source_namespace", d.SourceNamespace)
	e.ints("nat_outgoing_ports", d.NATOutgoingPorts)
	e.optInt("source_port", d.SourcePort)
	e.str("source_type", d.SourceType)
	e.labels("source_labels", d.SourceLabels, d.SourceLabelsNull)
}

func (e *enc) flowDest(d *FlowDoc) {
	e.optStr("dest_ip", d.DestIP)
	e.str("dest_name", d.DestName)
	e.str("dest_name_aggr", d.DestNameAggr)
	e.str("dest_namespace", d.DestNamespace)
	e.optInt("dest_port", d.DestPort)
	e.str("dest_type", d.DestType)
	e.labels("dest_labels", d.DestLabels, d.DestLabelsNull)
	e.str("dest_service_namespace", d.DestServiceNamespace)
	e.str("dest_service_name", d.DestServiceName)
	e.str("dest_service_port", d.DestServicePort)
	e.optInt("dest_service_port_num", d.DestServicePortNum)
	e.strs("dest_domains", d.DestDomains, true)
	e.str("proto", d.Proto)
	e.str("action", d.Action)
	e.str("reporter", d.Reporter)
}

func (e *enc) flowPolicies(d *FlowDoc) {
	if d.PoliciesNull {
		e.raw("policies", "")
		return
	}
	e.open("policies")
	e.strs("all_policies", d.AllPolicies, false)
	e.strs("enforced_policies", d.EnforcedPolicies, false)
	e.strs("pending_policies", d.PendingPolicies, false)
	if len(d.TransitPolicies) > 0 {
		e.strs("transit_policies", d.TransitPolicies, false)
	}
	e.close()
}

func (e *enc) flowCounters(d *FlowDoc) {
	e.int("bytes_in", d.BytesIn)
	e.int("bytes_out", d.BytesOut)
	e.int("num_flows", d.NumFlows)
	e.int("num_flows_started", d.NumFlowsStarted)
	e.int("num_flows_completed", d.NumFlowsCompleted)
	e.int("packets_in", d.PacketsIn)
	e.int("packets_out", d.PacketsOut)
	e.int("http_requests_allowed_in", d.HTTPRequestsAllowedIn)
	e.int("http_requests_denied_in", d.HTTPRequestsDeniedIn)
	e.str("process_name", d.ProcessName)
	e.int("num_process_names", d.NumProcessNames)
	e.str("process_id", d.ProcessID)
	e.int("num_process_ids", d.NumProcessIDs)
	e.strs("process_args", d.ProcessArgs, true)
	e.int("num_process_args", d.NumProcessArgs)
	e.strs("original_source_ips", d.OriginalSourceIPs, true)
	e.int("num_original_source_ips", d.NumOriginalSourceIPs)
	e.int("tcp_mean_send_congestion_window", d.TCPMeanSendCongestionWindow)
	e.int("tcp_min_send_congestion_window", d.TCPMinSendCongestionWin)
	e.int("tcp_mean_smooth_rtt", d.TCPMeanSmoothRTT)
	e.int("tcp_max_smooth_rtt", d.TCPMaxSmoothRTT)
	e.int("tcp_mean_min_rtt", d.TCPMeanMinRTT)
	e.int("tcp_max_min_rtt", d.TCPMaxMinRTT)
	e.int("tcp_mean_mss", d.TCPMeanMSS)
	e.int("tcp_min_mss", d.TCPMinMSS)
	e.int("tcp_total_retransmissions", d.TCPTotalRetransmissions)
	e.int("tcp_lost_packets", d.TCPLostPackets)
	e.int("tcp_unrecovered_to", d.TCPUnrecoveredTO)
}

// Interner hands out owned, shared copies of the strings and string
// lists of a line, so that documents built from many lines hold one copy
// of each value that repeats (labels, policy traces, namespaces, names).
// What it returns is shared: callers must never modify the elements of
// a returned slice in place (its capacity equals its length, so append
// copies).
type Interner interface {
	// String returns an owned string equal to s.
	String(s string) string
	// List returns the elements of l as owned strings (see List.Strings),
	// nil when l is empty.
	List(l List) []string
}

// FlowDocFromView returns a level-0 document owning a copy of everything
// in f: Meta.Records = 1 and Meta.Level = 0; the caller sets the other
// Meta fields. A source_ip/dest_ip that was null ("" in f) becomes nil.
func FlowDocFromView(f *Flow) FlowDoc { return FlowDocFromViewInterned(f, nil) }

// FlowDocFromViewInterned is FlowDocFromView taking its strings and
// string lists from in (nil: fresh copies, as FlowDocFromView). The
// document's slices are then shared with other documents built through
// in: they may be replaced, never modified in place.
func FlowDocFromViewInterned(f *Flow, in Interner) FlowDoc {
	list := List.Strings
	if in != nil {
		list = func(l List) []string { return in.List(l) }
	}
	d := FlowDoc{
		Meta:             Meta{Records: 1},
		StartTime:        f.StartTime,
		EndTime:          f.EndTime,
		SourceName:       f.SourceName,
		SourceNameAggr:   f.SourceNameAggr,
		SourceNamespace:  f.SourceNamespace,
		NATOutgoingPorts: f.NATOutgoingPorts.Ints(),
		SourcePort:       f.SourcePort,
		SourceType:       f.SourceType,
		SourceLabels:     list(f.SourceLabels),
		SourceLabelsNull: f.SourceLabelsNull,

		DestName:       f.DestName,
		DestNameAggr:   f.DestNameAggr,
		DestNamespace:  f.DestNamespace,
		DestPort:       f.DestPort,
		DestType:       f.DestType,
		DestLabels:     list(f.DestLabels),
		DestLabelsNull: f.DestLabelsNull,

		DestServiceNamespace: f.DestServiceNamespace,
		DestServiceName:      f.DestServiceName,
		DestServicePort:      f.DestServicePort,
		DestServicePortNum:   f.DestServicePortNum,
		DestDomains:          list(f.DestDomains),

		Proto:    f.Proto,
		Action:   f.Action,
		Reporter: f.Reporter,

		AllPolicies:      list(f.Policies.All),
		EnforcedPolicies: list(f.Policies.Enforced),
		PendingPolicies:  list(f.Policies.Pending),
		TransitPolicies:  list(f.Policies.Transit),
		PoliciesNull:     f.PoliciesNull,

		BytesIn: f.BytesIn, BytesOut: f.BytesOut,
		NumFlows: f.NumFlows, NumFlowsStarted: f.NumFlowsStarted, NumFlowsCompleted: f.NumFlowsCompleted,
		PacketsIn: f.PacketsIn, PacketsOut: f.PacketsOut,
		HTTPRequestsAllowedIn: f.HTTPRequestsAllowedIn, HTTPRequestsDeniedIn: f.HTTPRequestsDeniedIn,

		ProcessName: f.ProcessName, NumProcessNames: f.NumProcessNames,
		ProcessID: f.ProcessID, NumProcessIDs: f.NumProcessIDs,
		ProcessArgs: list(f.ProcessArgs), NumProcessArgs: f.NumProcessArgs,
		OriginalSourceIPs: list(f.OriginalSourceIPs), NumOriginalSourceIPs: f.NumOriginalSourceIPs,

		TCPMeanSendCongestionWindow: f.TCPMeanSendCongestionWindow, TCPMinSendCongestionWin: f.TCPMinSendCongestionWin,
		TCPMeanSmoothRTT: f.TCPMeanSmoothRTT, TCPMaxSmoothRTT: f.TCPMaxSmoothRTT,
		TCPMeanMinRTT: f.TCPMeanMinRTT, TCPMaxMinRTT: f.TCPMaxMinRTT,
		TCPMeanMSS: f.TCPMeanMSS, TCPMinMSS: f.TCPMinMSS,
		TCPTotalRetransmissions: f.TCPTotalRetransmissions, TCPLostPackets: f.TCPLostPackets,
		TCPUnrecoveredTO: f.TCPUnrecoveredTO,
		Verdict:          f.Verdict, DropReasonDesc: f.DropReasonDesc,
	}
	ips := [2]string{f.SourceIP, f.DestIP}
	strs := []*string{
		&ips[0], &ips[1], &d.SourceName, &d.SourceNameAggr, &d.SourceNamespace,
		&d.SourceType, &d.DestName, &d.DestNameAggr, &d.DestNamespace, &d.DestType,
		&d.DestServiceNamespace, &d.DestServiceName, &d.DestServicePort,
		&d.Proto, &d.Action, &d.Reporter, &d.ProcessName, &d.ProcessID,
		&d.Verdict, &d.DropReasonDesc,
	}
	if in == nil {
		cloneStrings(strs)
	} else {
		for _, p := range strs {
			*p = in.String(*p)
		}
	}
	if ips[0] != "" {
		d.SourceIP = &ips[0]
	}
	if ips[1] != "" {
		d.DestIP = &ips[1]
	}
	return d
}
