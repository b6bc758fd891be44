package schema

import (
	"net/netip"
	"strconv"
	"strings"
)

// Hubble identities of the reserved endpoints (cilium/cilium
// pkg/identity/numericidentity.go).
const (
	hubbleIdentityHost       = 1
	hubbleIdentityWorld      = 2
	hubbleIdentityRemoteNode = 6
)

// hubbleSide is one endpoint of a flow after the reply swap.
type hubbleSide struct {
	ep   *HubbleEndpoint
	ip   string
	port uint32
}

// hubbleOriented returns the flow's initiator and responder: a reply
// (is_reply true) is swapped so that source is the side that opened the
// connection, as in Calico's flow logs.
func hubbleOriented(f *HubbleFlow) (src, dst hubbleSide, reply bool) {
	src.ep, dst.ep = f.Source, f.Destination
	if f.IP != nil {
		src.ip, dst.ip = f.IP.Source, f.IP.Destination
	}
	if p := f.L4.ports(); p != nil {
		src.port, dst.port = p.SourcePort, p.DestinationPort
	}
	reply = f.IsReply != nil && *f.IsReply
	if reply {
		src, dst = dst, src
	}
	return src, dst, reply
}

func (l *HubbleL4) ports() *HubblePorts {
	switch {
	case l == nil:
		return nil
	case l.TCP != nil:
		return l.TCP
	case l.UDP != nil:
		return l.UDP
	case l.SCTP != nil:
		return l.SCTP
	}
	return nil
}

// proto returns Calico's proto name of the L4 member.
func (l *HubbleL4) proto() string {
	switch {
	case l == nil:
		return NotIncluded
	case l.TCP != nil:
		return "tcp"
	case l.UDP != nil:
		return "udp"
	case l.SCTP != nil:
		return "sctp"
	case l.ICMPv4 != nil:
		return "icmp"
	case l.ICMPv6 != nil:
		return "icmp6"
	}
	return NotIncluded
}

// endpointType is Calico's endpoint type of a Hubble endpoint: wep for a
// pod, hep for the host and remote-node identities, ns for a CIDR group,
// net otherwise (world and unknown).
func hubbleType(s hubbleSide) string {
	ep := s.ep
	if ep == nil {
		return "net"
	}
	if ep.PodName != "" {
		return "wep"
	}
	if ep.Identity == hubbleIdentityHost || ep.Identity == hubbleIdentityRemoteNode {
		return "hep"
	}
	for _, l := range ep.Labels {
		switch {
		case l == "reserved:host" || l == "reserved:remote-node":
			return "hep"
		case strings.HasPrefix(l, "cidrgroup:"):
			return "ns"
		}
	}
	return "net"
}

// hubbleNameAggr is Calico's aggregated name: a pod's first workload name
// with "-*"; without workloads the pod name with its last "-<hash>"
// segment replaced by "*" (storefront-7d9c5b6f4-2xk8p → storefront-7d9c5b6f4-*,
// db-0 → db-*), as Calico's generateName prefix gives; a host endpoint's
// node; "pvt" for a private (RFC 1918, ULA), loopback or link-local
// address, else "pub".
func hubbleNameAggr(s hubbleSide, typ, node string) string {
	switch typ {
	case "wep":
		if len(s.ep.Workloads) > 0 && s.ep.Workloads[0].Name != "" {
			return s.ep.Workloads[0].Name + "-*"
		}
		if i := strings.LastIndexByte(s.ep.PodName, '-'); i > 0 {
			return s.ep.PodName[:i+1] + "*"
		}
		return s.ep.PodName
	case "hep":
		if s.ep != nil && (s.ep.Identity == hubbleIdentityRemoteNode || hasLabel(s.ep.Labels, "reserved:remote-node")) {
			return "remote-node"
		}
		return node
	case "ns":
		for _, l := range s.ep.Labels {
			if name, ok := strings.CutPrefix(l, "cidrgroup:"); ok {
				return name
			}
		}
	}
	if a, err := netip.ParseAddr(s.ip); err == nil && (a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()) {
		return "pvt"
	}
	return "pub"
}

func hasLabel(labels []string, l string) bool {
	for _, x := range labels {
		if x == l {
			return true
		}
	}
	return false
}

// hubbleLabels returns the endpoint's labels in Calico's key=value form:
// the "k8s:" source prefix dropped, other sources' prefixes kept.
func hubbleLabels(ep *HubbleEndpoint) []string {
	if ep == nil {
		return nil
	}
	out := make([]string, 0, len(ep.Labels))
	for _, l := range ep.Labels {
		out = append(out, strings.TrimPrefix(l, "k8s:"))
	}
	return out
}

// hubbleNode splits node_name "<cluster>/<node>" and returns the node.
func hubbleNode(f *HubbleFlow, h *HubbleLine) string {
	n := f.NodeName
	if n == "" {
		n = h.NodeName
	}
	if i := strings.LastIndexByte(n, '/'); i >= 0 {
		n = n[i+1:]
	}
	return n
}

// hubblePolicies returns the policy trace in Calico's string form: one
// entry per policy of *_allowed_by / *_denied_by (ingress before egress;
// the entries of the flow's own action last, so the deciding entry, the
// highest index, is one that gave the verdict), "<i>|<tier>|<name>|<action>|-2" with tier
// "kubernetes" for a Kubernetes NetworkPolicy and "cilium" otherwise, the
// name "<namespace>/<name>" or "<name>" for a cluster-wide policy. A verdict
// with no named policy becomes "0|__PROFILE__|__PROFILE__.cilium-default|<action>|-1".
// Names and namespaces are written as they are; Calico's own strings
// cannot contain '|' and a policy name with one is cut at it.
func hubblePolicies(f *HubbleFlow, action string) []string {
	var out []string
	add := func(ps []HubblePolicy, act string) {
		for _, p := range ps {
			name := p.Name
			if p.Namespace != "" {
				name = p.Namespace + "/" + name
			}
			name, _, _ = strings.Cut(name, "|")
			if name == "" {
				continue
			}
			out = append(out, strconv.Itoa(len(out))+"|"+hubbleTier(p)+"|"+name+"|"+act+"|-2")
		}
	}
	if action == "deny" {
		add(f.IngressAllowedBy, "allow")
		add(f.EgressAllowedBy, "allow")
	}
	add(f.IngressDeniedBy, "deny")
	add(f.EgressDeniedBy, "deny")
	if action != "deny" {
		add(f.IngressAllowedBy, "allow")
		add(f.EgressAllowedBy, "allow")
	}
	if len(out) == 0 {
		out = append(out, "0|__PROFILE__|__PROFILE__.cilium-default|"+action+"|-1")
	}
	return out
}

// hubbleTraces returns all_policies, enforced_policies and
// pending_policies. One trace fills all three, except for an AUDIT event
// (policy audit mode let through what policy would have dropped): its
// enforced trace is the policies that allowed it, else
// "0|__PROFILE__|__PROFILE__.cilium-policy-audit-mode|allow|-1"; its
// pending trace (Calico's staged view: what enforcing would do), and all,
// is the would-be deny: the trace of a DROPPED event, ending in the
// policies that would deny it or, with none named, the default deny.
func hubbleTraces(f *HubbleFlow, action string) (all, enforced, pending []string) {
	if f.Verdict != "AUDIT" {
		t := hubblePolicies(f, action)
		return t, t, t
	}
	pending = hubblePolicies(f, "deny")
	if !strings.Contains(pending[len(pending)-1], "|deny|") { // allowed_by only: no named denier
		pending = append(pending, strconv.Itoa(len(pending))+"|__PROFILE__|__PROFILE__.cilium-default|deny|-1")
	}
	var allowed []HubblePolicy
	allowed = append(append(allowed, f.IngressAllowedBy...), f.EgressAllowedBy...)
	enforced = hubblePolicies(&HubbleFlow{IngressAllowedBy: allowed}, "allow")
	if strings.Contains(enforced[0], "__PROFILE__.cilium-default") {
		enforced = []string{"0|__PROFILE__|__PROFILE__.cilium-policy-audit-mode|allow|-1"}
	}
	return pending, enforced, pending
}

// hubbleTier is "kubernetes" for a policy derived from a Kubernetes
// NetworkPolicy, else "cilium".
func hubbleTier(p HubblePolicy) string {
	if p.Kind == "NetworkPolicy" {
		return "kubernetes"
	}
	for _, l := range p.Labels {
		if strings.HasSuffix(l, "io.cilium.k8s.policy.derived-from=NetworkPolicy") {
			return "kubernetes"
		}
	}
	return "cilium"
}
