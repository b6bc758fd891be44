package schema

import (
	"encoding/json"
	"strings"
)

// GoldmaneFlowDoc returns the flow document of one Goldmane record (g must
// have passed ParseGoldmane): the Calico flows.log fields (Goldmane's key is
// already at Calico's level 2: names are name_aggr, no IPs or source port)
// plus PolicyHits, Goldmane's structured policy trace, as written under
// "goldmane_policy_hits". meta is the caller's (cluster, host, _id, window).
func GoldmaneFlowDoc(g *GoldmaneFlow, meta Meta) FlowDoc {
	k := g.Key
	srcType := orDash(enumOrEmpty(goldmaneEndpointTypes[:], k.SourceType))
	dstType := orDash(enumOrEmpty(goldmaneEndpointTypes[:], k.DestType))
	reporter := orDash(enumOrEmpty(goldmaneReporters[:], k.Reporter))
	action, _ := enumName(goldmaneActions[:], k.Action, "")
	d := FlowDoc{
		Meta:      meta,
		StartTime: g.StartTime, EndTime: g.EndTime,
		SourceName: NotIncluded, SourceNameAggr: orDash(k.SourceName), SourceNamespace: orDash(k.SourceNamespace),
		SourceType: srcType, SourceLabels: labelsOrEmpty(g.SourceLabels),
		DestName: NotIncluded, DestNameAggr: orDash(k.DestName), DestNamespace: orDash(k.DestNamespace),
		DestType: dstType, DestLabels: labelsOrEmpty(g.DestLabels),
		DestServiceNamespace: orDash(k.DestServiceNamespace), DestServiceName: orDash(k.DestServiceName),
		DestServicePort: orDash(k.DestServicePortName),
		Proto:           strings.ToLower(orDash(k.Proto)), Action: action, Reporter: reporter,
		BytesIn: g.BytesIn, BytesOut: g.BytesOut, PacketsIn: g.PacketsIn, PacketsOut: g.PacketsOut,
		NumFlows:        max(g.NumConnectionsStarted, g.NumConnectionsCompleted, g.NumConnectionsLive),
		NumFlowsStarted: g.NumConnectionsStarted, NumFlowsCompleted: g.NumConnectionsCompleted,
		ProcessName: NotIncluded, ProcessID: NotIncluded, ProcessArgs: []string{NotIncluded},
		AllPolicies: []string{}, EnforcedPolicies: []string{}, PendingPolicies: []string{},
	}
	if k.DestPort > 0 {
		d.DestPort = OptInt{V: k.DestPort, Valid: true}
	}
	if k.DestServicePort > 0 {
		d.DestServicePortNum = OptInt{V: k.DestServicePort, Valid: true}
	}
	if p := k.Policies; p != nil {
		for _, h := range p.EnforcedPolicies {
			s, _ := h.String()
			d.EnforcedPolicies = append(d.EnforcedPolicies, s)
		}
		for _, h := range p.PendingPolicies {
			s, _ := h.String()
			d.PendingPolicies = append(d.PendingPolicies, s)
		}
		d.PolicyHits = goldmaneHitsJSON(p)
	}
	return d
}

func labelsOrEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// goldmaneHit is the document form of a PolicyHit: enums as Calico's
// short codes (kind np, gnp, …; action allow, deny, pass).
type goldmaneHit struct {
	Kind        string       `json:"kind"`
	Namespace   string       `json:"namespace,omitempty"`
	Name        string       `json:"name,omitempty"`
	Tier        string       `json:"tier"`
	Action      string       `json:"action,omitempty"`
	PolicyIndex int64        `json:"policy_index"`
	RuleIndex   int64        `json:"rule_index"`
	Trigger     *goldmaneHit `json:"trigger,omitempty"`
}

func toHit(h *GoldmanePolicyHit) *goldmaneHit {
	if h == nil {
		return nil
	}
	kind, _ := enumName(goldmaneKinds[:], h.Kind, "")
	action := ""
	if h.Action > 0 && int(h.Action) < len(goldmaneActions) {
		action = goldmaneActions[h.Action]
	}
	return &goldmaneHit{Kind: kind, Namespace: h.Namespace, Name: h.Name, Tier: h.Tier, Action: action,
		PolicyIndex: h.PolicyIndex, RuleIndex: h.RuleIndex, Trigger: toHit(h.Trigger)}
}

// goldmaneHitsJSON renders {"enforced":[…],"pending":[…]}.
func goldmaneHitsJSON(p *GoldmaneTrace) json.RawMessage {
	out := struct {
		Enforced []*goldmaneHit `json:"enforced"`
		Pending  []*goldmaneHit `json:"pending"`
	}{Enforced: []*goldmaneHit{}, Pending: []*goldmaneHit{}}
	for i := range p.EnforcedPolicies {
		out.Enforced = append(out.Enforced, toHit(&p.EnforcedPolicies[i]))
	}
	for i := range p.PendingPolicies {
		out.Pending = append(out.Pending, toHit(&p.PendingPolicies[i]))
	}
	b, _ := json.Marshal(out)
	return b
}

func enumOrEmpty(names []string, v int32) string {
	n, _ := enumName(names, v, "")
	return n
}
