package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// GoldmaneFlow is one record of Goldmane's emitter: the Flow message of
// projectcalico/calico goldmane/proto/api.proto marshalled with Go's
// encoding/json (the generated struct tags: proto field names, "Key" for
// the key; enums as integers; zero values omitted).
type GoldmaneFlow struct {
	Key                     *GoldmaneKey `json:"Key"`
	StartTime               int64        `json:"start_time"`
	EndTime                 int64        `json:"end_time"`
	SourceLabels            []string     `json:"source_labels"`
	DestLabels              []string     `json:"dest_labels"`
	PacketsIn               int64        `json:"packets_in"`
	PacketsOut              int64        `json:"packets_out"`
	BytesIn                 int64        `json:"bytes_in"`
	BytesOut                int64        `json:"bytes_out"`
	NumConnectionsStarted   int64        `json:"num_connections_started"`
	NumConnectionsCompleted int64        `json:"num_connections_completed"`
	NumConnectionsLive      int64        `json:"num_connections_live"`
}

// GoldmaneKey is the FlowKey: the identity Goldmane aggregates on.
type GoldmaneKey struct {
	SourceName           string         `json:"source_name"`
	SourceNamespace      string         `json:"source_namespace"`
	SourceType           int32          `json:"source_type"`
	DestName             string         `json:"dest_name"`
	DestNamespace        string         `json:"dest_namespace"`
	DestType             int32          `json:"dest_type"`
	DestPort             int64          `json:"dest_port"`
	DestServiceName      string         `json:"dest_service_name"`
	DestServiceNamespace string         `json:"dest_service_namespace"`
	DestServicePortName  string         `json:"dest_service_port_name"`
	DestServicePort      int64          `json:"dest_service_port"`
	Proto                string         `json:"proto"`
	Reporter             int32          `json:"reporter"`
	Action               int32          `json:"action"`
	Policies             *GoldmaneTrace `json:"policies"`
}

// GoldmaneTrace is the PolicyTrace.
type GoldmaneTrace struct {
	EnforcedPolicies []GoldmanePolicyHit `json:"enforced_policies"`
	PendingPolicies  []GoldmanePolicyHit `json:"pending_policies"`
}

// GoldmanePolicyHit is one PolicyHit; Trigger is set for kind EndOfTier.
type GoldmanePolicyHit struct {
	Kind        int32              `json:"kind"`
	Namespace   string             `json:"namespace"`
	Name        string             `json:"name"`
	Tier        string             `json:"tier"`
	Action      int32              `json:"action"`
	PolicyIndex int64              `json:"policy_index"`
	RuleIndex   int64              `json:"rule_index"`
	Trigger     *GoldmanePolicyHit `json:"trigger"`
}

// Goldmane enum values (api.proto).
var (
	goldmaneEndpointTypes = [...]string{1: "wep", 2: "hep", 3: "ns", 4: "net"}
	goldmaneReporters     = [...]string{1: "src", 2: "dst"}
	goldmaneActions       = [...]string{1: "allow", 2: "deny", 3: "pass"}
	// PolicyKind → the Calico 3.32 kind code of policy strings.
	goldmaneKinds = [...]string{1: KindNetworkPolicy, 2: KindGlobalNetworkPolicy, 3: KindStagedNetworkPolicy,
		4: KindStagedGlobalNetworkPolicy, 5: KindStagedKubernetesNetworkPolicy, 6: KindKubernetesNetworkPolicy,
		7: KindClusterNetworkPolicy, 8: KindClusterNetworkPolicy, 9: KindProfile, 10: KindEndOfTier}
)

func enumName(names []string, v int32, key string) (string, error) {
	if v <= 0 || int(v) >= len(names) || names[v] == "" {
		return "", &FieldError{Key: key, Reason: fmt.Sprintf("%d is not a known value (want 1-%d)", v, len(names)-1)}
	}
	return names[v], nil
}

// ParseGoldmane parses and checks one emitter record: the key, the window
// (0 < start_time <= end_time <= MaxTime), the enums (an unknown number is
// an error naming the field), non-negative counters.
func ParseGoldmane(line []byte) (GoldmaneFlow, error) {
	var g GoldmaneFlow
	d := json.NewDecoder(bytes.NewReader(line))
	if err := d.Decode(&g); err != nil {
		return g, fmt.Errorf("not a Goldmane flow: %w", err)
	}
	if d.More() {
		return g, fmt.Errorf("not a Goldmane flow: more than one JSON value on the line")
	}
	if g.Key == nil {
		return g, &FieldError{Key: "Key", Reason: "required key is missing"}
	}
	if g.StartTime <= 0 || g.EndTime < g.StartTime || g.EndTime > MaxTime {
		return g, &FieldError{Key: "start_time", Reason: fmt.Sprintf("window [%d, %d] is not 0 < start_time <= end_time <= %d", g.StartTime, g.EndTime, MaxTime)}
	}
	for _, c := range [...]struct {
		k string
		v int64
	}{{"packets_in", g.PacketsIn}, {"packets_out", g.PacketsOut}, {"bytes_in", g.BytesIn}, {"bytes_out", g.BytesOut},
		{"num_connections_started", g.NumConnectionsStarted}, {"num_connections_completed", g.NumConnectionsCompleted},
		{"num_connections_live", g.NumConnectionsLive}} {
		if c.v < 0 {
			return g, &FieldError{Key: c.k, Reason: fmt.Sprintf("%d is negative", c.v)}
		}
	}
	k := g.Key
	// Unspecified (0) endpoint types and reporter read as "-"; the action
	// must be set.
	for _, e := range [...]struct {
		names []string
		v     int32
		key   string
	}{{goldmaneEndpointTypes[:], k.SourceType, "Key.source_type"}, {goldmaneEndpointTypes[:], k.DestType, "Key.dest_type"},
		{goldmaneReporters[:], k.Reporter, "Key.reporter"}, {goldmaneActions[:], k.Action, "Key.action"}} {
		if e.v == 0 && e.key != "Key.action" {
			continue
		}
		if _, err := enumName(e.names, e.v, e.key); err != nil {
			return g, err
		}
	}
	if k.DestPort < 0 || k.DestPort > 65535 || k.DestServicePort < 0 || k.DestServicePort > 65535 {
		return g, &FieldError{Key: "Key.dest_port", Reason: "a port is outside 0-65535"}
	}
	if k.Policies != nil {
		for i, h := range k.Policies.EnforcedPolicies {
			if _, err := h.String(); err != nil {
				return g, fmt.Errorf("in Key.policies.enforced_policies[%d]: %w", i, err)
			}
		}
		for i, h := range k.Policies.PendingPolicies {
			if _, err := h.String(); err != nil {
				return g, fmt.Errorf("in Key.policies.pending_policies[%d]: %w", i, err)
			}
		}
	}
	return g, nil
}

// String returns the hit in Calico 3.32's policy-string form
// "<policy_index>|<tier>|<kind>:[<namespace>/]<name>|<action>|<rule_index>".
// An end-of-tier hit names its trigger policy ("eot:__NO_MATCH__" when it
// has none); a profile's tier is "__PROFILE__".
func (h *GoldmanePolicyHit) String() (string, error) {
	kind, err := enumName(goldmaneKinds[:], h.Kind, "kind")
	if err != nil {
		return "", err
	}
	action, err := enumName(goldmaneActions[:], h.Action, "action")
	if err != nil {
		return "", err
	}
	if h.PolicyIndex < 0 || h.RuleIndex < RuleUnknown {
		return "", &FieldError{Key: "rule_index", Reason: fmt.Sprintf("policy_index %d or rule_index %d out of range", h.PolicyIndex, h.RuleIndex)}
	}
	name := "__NO_MATCH__"
	src := h
	if kind == KindEndOfTier && h.Trigger != nil {
		src = h.Trigger
		if kind, err = enumName(goldmaneKinds[:], src.Kind, "trigger.kind"); err != nil {
			return "", err
		}
	}
	if !(kind == KindEndOfTier) {
		name = src.Name
		if name == "" {
			return "", &FieldError{Key: "name", Reason: "empty policy name"}
		}
		if src.Namespace != "" {
			name = src.Namespace + "/" + name
		}
	}
	tier := h.Tier
	if kind == KindProfile {
		tier = "__PROFILE__"
	}
	if tier == "" {
		return "", &FieldError{Key: "tier", Reason: "empty tier"}
	}
	s := strconv.FormatInt(h.PolicyIndex, 10) + "|" + tier + "|" + kind + ":" + name + "|" + action + "|" + strconv.FormatInt(h.RuleIndex, 10)
	if _, err := ParsePolicy(s); err != nil {
		return "", err
	}
	return s, nil
}
