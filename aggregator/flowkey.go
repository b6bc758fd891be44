package aggregator

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/flowship/flowship/schema"
)

// Key byte strings are deterministic: a one-byte kind tag, then each
// component as uvarint length + bytes (strings) or a presence byte +
// varint (integers), in a fixed order. They are compared and hashed, never
// parsed back.

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendOpt(b []byte, o schema.OptInt) []byte {
	if !o.Valid {
		return append(b, 0)
	}
	return binary.AppendVarint(append(b, 1), o.V)
}

func appendInt(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

// hasDeny reports Felix's HasDenyRule (spec §2.3): any deny anywhere in
// the trace, staged entries included. The trace is all_policies, or
// enforced_policies when a newer Felix leaves all_policies empty; with no
// trace at all (policy inclusion off) the action decides.
func hasDeny(f *schema.Flow) bool {
	if f.Action == "deny" {
		return true
	}
	trace := f.Policies.All
	if trace.Raw == "" {
		trace = f.Policies.Enforced
	}
	found := false
	trace.Each(func(e string) bool { found = policyPart(e, 3) == "deny"; return !found })
	return found
}

// maskFlow applies the level's masking (spec §3.2 code table) to f in
// place. Masking an already masked field is a no-op, so re-aggregating
// at a level >= the source line's level is exact.
func maskFlow(f *schema.Flow, level int) {
	if level >= 1 {
		f.SourcePort = schema.OptInt{}
	}
	if level >= 2 {
		f.SourceIP, f.DestIP = "", ""
		f.SourceName, f.DestName = schema.NotIncluded, schema.NotIncluded
	}
	if level >= 3 {
		f.DestPort = schema.OptInt{}
		f.DestServicePort = schema.NotIncluded
	}
}

// flowKeyer derives flow keys. It holds scratch space and is not safe for
// concurrent use.
type flowKeyer struct {
	levels        Levels
	groupByPolicy bool
	extra         []field[schema.Flow]
	trace         []string // scratch for sorting policy traces
}

// key masks f for its level (denied or allowed) and appends its key to
// dst. It returns the level applied.
func (k *flowKeyer) key(dst []byte, f *schema.Flow) ([]byte, int) {
	denied := hasDeny(f)
	level := k.levels.Allowed
	tag := byte('a')
	if denied {
		level, tag = k.levels.Denied, 'd'
	}
	maskFlow(f, level)
	b := append(dst, 'F', tag, byte(level))
	b = appendStr(b, f.Proto)
	b = appendStr(b, f.SourceIP)
	b = appendOpt(b, f.SourcePort)
	b = appendStr(b, f.SourceName)
	b = appendStr(b, f.SourceNameAggr)
	b = appendStr(b, f.SourceNamespace)
	b = appendStr(b, f.SourceType)
	b = appendStr(b, f.DestIP)
	b = appendOpt(b, f.DestPort)
	b = appendStr(b, f.DestName)
	b = appendStr(b, f.DestNameAggr)
	b = appendStr(b, f.DestNamespace)
	b = appendStr(b, f.DestType)
	b = appendStr(b, f.DestServiceNamespace)
	b = appendStr(b, f.DestServiceName)
	b = appendStr(b, f.DestServicePort)
	b = appendOpt(b, f.DestServicePortNum)
	b = appendStr(b, f.Action)
	b = appendStr(b, f.Reporter)
	b = appendStr(b, f.ProcessName)
	if f.Verdict != "" || f.DropReasonDesc != "" { // Hubble lines only: Felix keys unchanged
		b = appendStr(appendStr(append(b, 'H'), f.Verdict), f.DropReasonDesc)
	}
	if k.groupByPolicy {
		if f.PoliciesNull {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = k.appendTrace(b, f.Policies.All)
			b = k.appendTrace(b, f.Policies.Enforced)
			b = k.appendTrace(b, f.Policies.Transit)
		}
	}
	return appendExtra(b, k.extra, f), level
}

// appendTrace appends a policy array as a set: its entries sorted by
// trace index, then text (Felix writes them in map order).
func (k *flowKeyer) appendTrace(b []byte, l schema.List) []byte {
	t := k.trace[:0]
	l.Each(func(e string) bool { t = append(t, e); return true })
	slices.SortFunc(t, comparePolicy)
	b = binary.AppendUvarint(b, uint64(len(t)))
	for _, e := range t {
		b = appendStr(b, e)
	}
	clear(t)
	k.trace = t[:0]
	return b
}

// comparePolicy orders policy entries by their numeric index, then text.
func comparePolicy(a, b string) int {
	ia, ib := policyIndex(a), policyIndex(b)
	if ia != ib {
		if ia < ib {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func policyIndex(s string) int {
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// appendExtra appends the extra key fields' values.
func appendExtra[T any](b []byte, fields []field[T], v *T) []byte {
	for _, f := range fields {
		switch f.typ {
		case tStr, tIP:
			b = appendStr(b, f.str(v))
		case tInt, tOptInt:
			n, ok := f.num(v)
			b = appendOpt(b, schema.OptInt{V: n, Valid: ok})
		default:
			b = appendStr(b, f.list(v).Raw)
		}
	}
	return b
}

// keyFields are the compiled extra key fields.
type keyFields struct {
	flows []field[schema.Flow]
	l7    []field[schema.L7]
	dns   []field[schema.DNS]
}

func compileKeyFields(e ExtraKeyFields) (keyFields, error) {
	var kf keyFields
	var err error
	if kf.flows, err = lookupFields(e.Flows, flowFields, "flows"); err != nil {
		return kf, err
	}
	if kf.l7, err = lookupFields(e.L7, l7Fields, "l7"); err != nil {
		return kf, err
	}
	kf.dns, err = lookupFields(e.DNS, dnsFields, "dns")
	return kf, err
}

func lookupFields[T any](names []string, m map[string]field[T], kind string) ([]field[T], error) {
	var out []field[T]
	for i, n := range names {
		f, ok := m[n]
		if !ok {
			return nil, fmt.Errorf("aggregator.extra_key_fields.%s[%d]: unknown field %q; known fields: %s",
				kind, i, n, strings.Join(fieldNames(m), ", "))
		}
		out = append(out, f)
	}
	return out, nil
}
