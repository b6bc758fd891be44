package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// HubbleEvent says what one line of a Hubble exporter file held
// (cilium/cilium pkg/hubble/exporter: one JSON object a line, a "flow",
// "lost_events", "agent_event" or "debug_event" record with "node_name"
// and "time" beside it).
type HubbleEvent int

// HubbleEvent values.
const (
	HubbleFlowEvent HubbleEvent = iota // an L3/L4 flow event: a flows line
	HubbleL7                           // an l7.http flow event: an L7 line
	HubbleL7Skipped                    // another L7 flow (dns, kafka, an HTTP request that was answered)
	HubbleLost                         // a lost_events record
	HubbleOther                        // agent_event, debug_event or another record: skipped
)

// HubbleLine is the parsed envelope of one exporter line.
type HubbleLine struct {
	Flow       *HubbleFlow       `json:"flow"`
	LostEvents *HubbleLostEvents `json:"lost_events"`
	NodeName   string            `json:"node_name"`
	Time       string            `json:"time"`
}

// HubbleLostEvents is a lost_events record: events the agent dropped
// before export (ring buffer, perf ring, observer queue).
type HubbleLostEvents struct {
	Source        string     `json:"source"`
	NumEventsLost hubbleUint `json:"num_events_lost"`
	CPU           *struct {
		Value uint32 `json:"value"`
	} `json:"cpu"`
}

// HubbleFlow holds the flow fields flowship maps (api/v1/flow/flow.proto
// as protojson writes it: proto field names, enums as strings, 64-bit
// integers as strings, zero values omitted).
type HubbleFlow struct {
	Time             string              `json:"time"`
	Verdict          string              `json:"verdict"`
	DropReasonDesc   string              `json:"drop_reason_desc"`
	IP               *HubbleIP           `json:"IP"`
	L4               *HubbleL4           `json:"l4"`
	Source           *HubbleEndpoint     `json:"source"`
	Destination      *HubbleEndpoint     `json:"destination"`
	Type             string              `json:"Type"`
	NodeName         string              `json:"node_name"`
	L7               *HubbleLayer7       `json:"l7"`
	EventType        *HubbleEventType    `json:"event_type"`
	TrafficDirection string              `json:"traffic_direction"`
	IsReply          *bool               `json:"is_reply"`
	DestService      *HubbleService      `json:"destination_service"`
	DestNames        []string            `json:"destination_names"`
	IngressAllowedBy []HubblePolicy      `json:"ingress_allowed_by"`
	EgressAllowedBy  []HubblePolicy      `json:"egress_allowed_by"`
	IngressDeniedBy  []HubblePolicy      `json:"ingress_denied_by"`
	EgressDeniedBy   []HubblePolicy      `json:"egress_denied_by"`
	Aggregate        *HubbleAggregateCnt `json:"aggregate"`
}

// HubbleIP is a flow's L3 addresses.
type HubbleIP struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	IPVersion   string `json:"ipVersion"`
}

// HubbleL4 is the L4 oneof: exactly one member is set.
type HubbleL4 struct {
	TCP    *HubblePorts `json:"TCP"`
	UDP    *HubblePorts `json:"UDP"`
	SCTP   *HubblePorts `json:"SCTP"`
	ICMPv4 *struct{}    `json:"ICMPv4"`
	ICMPv6 *struct{}    `json:"ICMPv6"`
}

// HubblePorts is a TCP, UDP or SCTP header.
type HubblePorts struct {
	SourcePort      uint32 `json:"source_port"`
	DestinationPort uint32 `json:"destination_port"`
	Flags           *struct {
		SYN, ACK, FIN, RST bool
	} `json:"flags"`
}

// HubbleEndpoint is a flow's source or destination.
type HubbleEndpoint struct {
	Identity  uint32           `json:"identity"`
	Namespace string           `json:"namespace"`
	Labels    []string         `json:"labels"`
	PodName   string           `json:"pod_name"`
	Workloads []HubbleWorkload `json:"workloads"`
}

// HubbleWorkload is an owning controller of a pod.
type HubbleWorkload struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// HubbleService is a Kubernetes Service.
type HubbleService struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// HubblePolicy is a policy that allowed or denied a flow.
type HubblePolicy struct {
	Name      string   `json:"name"`
	Namespace string   `json:"namespace"`
	Labels    []string `json:"labels"`
	Kind      string   `json:"kind"`
}

// HubbleEventType is the monitor event type (1 drop, 4 trace, 5 policy
// verdict, 129 L7).
type HubbleEventType struct {
	Type    int32 `json:"type"`
	SubType int32 `json:"sub_type"`
}

// HubbleLayer7 is an L7 record.
type HubbleLayer7 struct {
	Type      string      `json:"type"`
	LatencyNS hubbleUint  `json:"latency_ns"`
	HTTP      *HubbleHTTP `json:"http"`
}

// HubbleHTTP is an HTTP request or response.
type HubbleHTTP struct {
	Code     uint32 `json:"code"`
	Method   string `json:"method"`
	URL      string `json:"url"`
	Protocol string `json:"protocol"`
	Headers  []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"headers"`
}

// HubbleAggregateCnt is the exporter-side aggregation block of newer
// Cilium (counts of the flows one exported line stands for).
type HubbleAggregateCnt struct {
	IngressFlowCount          uint32 `json:"ingress_flow_count"`
	EgressFlowCount           uint32 `json:"egress_flow_count"`
	UnknownDirectionFlowCount uint32 `json:"unknown_direction_flow_count"`
}

// hubbleUint reads a protojson 64-bit integer: a JSON string of digits,
// or a plain number.
type hubbleUint uint64

func (u *hubbleUint) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "null" {
		return nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%s is not an unsigned integer", b)
	}
	*u = hubbleUint(v)
	return nil
}

// ParseHubble parses one exporter line and says what it is. A flow line
// is checked for what the mapping needs (its time, a known verdict); a
// line that is not a JSON object, or a flow that fails those checks,
// returns an error naming the field.
func ParseHubble(line []byte) (HubbleLine, HubbleEvent, error) {
	var h HubbleLine
	if err := json.Unmarshal(line, &h); err != nil {
		return h, HubbleOther, fmt.Errorf("not a Hubble exporter line: %w", err)
	}
	switch {
	case h.Flow != nil:
		if _, err := hubbleTime(h.Flow.Time, h.Time); err != nil {
			return h, HubbleFlowEvent, err
		}
		if _, ok := hubbleAction[h.Flow.Verdict]; !ok {
			return h, HubbleFlowEvent, &FieldError{Key: "flow.verdict", Reason: fmt.Sprintf("%q is not a verdict flowship maps (FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED, TRANSLATED)", h.Flow.Verdict)}
		}
		if ip := h.Flow.IP; ip != nil {
			for _, a := range [...]struct{ k, v string }{{"flow.IP.source", ip.Source}, {"flow.IP.destination", ip.Destination}} {
				if _, err := netip.ParseAddr(a.v); a.v != "" && err != nil {
					return h, HubbleFlowEvent, &FieldError{Key: a.k, Reason: fmt.Sprintf("%q is not an IP address", a.v)}
				}
			}
		}
		if h.Flow.L7 == nil && h.Flow.Type != "L7" {
			return h, HubbleFlowEvent, nil
		}
		if h.Flow.L7 == nil || h.Flow.L7.HTTP == nil {
			return h, HubbleL7Skipped, nil
		}
		// One L7 document per request: the RESPONSE record (it has the code
		// and the latency), or the REQUEST record of a request the proxy
		// dropped (no response follows).
		if h.Flow.L7.Type == "RESPONSE" || (h.Flow.L7.Type == "REQUEST" && hubbleAction[h.Flow.Verdict] == "deny") {
			return h, HubbleL7, nil
		}
		return h, HubbleL7Skipped, nil
	case h.LostEvents != nil:
		return h, HubbleLost, nil
	}
	return h, HubbleOther, nil
}

// hubbleAction maps a Hubble verdict onto the Calico action.
var hubbleAction = map[string]string{
	"FORWARDED": "allow", "REDIRECTED": "allow", "TRANSLATED": "allow", "TRACED": "allow",
	"AUDIT": "allow", "DROPPED": "deny", "ERROR": "deny",
}

// hubbleTime returns the event time in Unix nanoseconds: the flow's time,
// else the envelope's.
func hubbleTime(flowTime, lineTime string) (int64, error) {
	s, key := flowTime, "flow.time"
	if s == "" {
		s, key = lineTime, "time"
	}
	if s == "" {
		return 0, &FieldError{Key: "flow.time", Reason: "required key is missing"}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, &FieldError{Key: key, Reason: fmt.Sprintf("%q is not an RFC 3339 time", s)}
	}
	if sec := t.Unix(); sec < 0 || sec > MaxTime {
		return 0, &FieldError{Key: key, Reason: fmt.Sprintf("%q is outside [1970, 9999]", s)}
	}
	return t.UnixNano(), nil
}
