package ui

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Filter is the filter bar shared by every view, parsed from the URL query
// so a view can be shared by its address. Values are matched exactly
// (term queries): "*" in a name_aggr is the literal character Calico
// writes, never a wildcard.
type Filter struct {
	From, To time.Time // the time range [From, To) on @timestamp
	Range    string    // the preset ("1h") when the range is relative, "" when absolute

	SrcNamespace, DstNamespace, Namespace []string // Namespace: either side
	SrcName, DstName, Name                []string // name_aggr; Name: either side
	SrcType, DstType, Type                []string // wep hep ns net
	SrcLabel, DstLabel, Label             []string // "key=value"; Label: either side; all must hold
	Action                                []string // allow deny
	Reporter                              []string // src dst fwd
	Tier, Policy                          []string // a hit in the enforced trace
}

// filterKeys are the URL keys of Filter; every view accepts them.
var filterKeys = []string{
	"range", "from", "to",
	"src_ns", "dst_ns", "ns", "src_name", "dst_name", "name",
	"src_type", "dst_type", "type", "src_label", "dst_label", "label",
	"action", "reporter", "tier", "policy",
}

// Presets are the relative time ranges the filter bar offers.
var Presets = []string{"15m", "1h", "6h", "24h", "7d", "30d"}

// DefaultRange is the preset used when a request names no time range.
const DefaultRange = "1h"

// maxValueLen bounds one filter value (a Kubernetes name is at most 253).
const maxValueLen = 320

// badRequest is an error whose message is safe to show the user; handlers
// answer it with 400.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return badRequest{fmt.Sprintf(format, args...)} }

// parseFilter reads the filter from q. extra lists the view's own keys,
// which it leaves to the view; any other key is an error, so a typo never
// silently widens a query. now anchors relative ranges.
func parseFilter(q url.Values, extra []string, now time.Time, maxRange time.Duration) (Filter, error) {
	for k := range q {
		if !slices.Contains(filterKeys, k) && !slices.Contains(extra, k) {
			known := append(append([]string(nil), filterKeys...), extra...)
			return Filter{}, badf("unknown query parameter %q; known: %s", k, strings.Join(known, ", "))
		}
	}
	var f Filter
	if err := f.parseTime(q, now, maxRange); err != nil {
		return Filter{}, err
	}
	lists := []struct {
		key  string
		dst  *[]string
		enum []string
	}{
		{"src_ns", &f.SrcNamespace, nil}, {"dst_ns", &f.DstNamespace, nil}, {"ns", &f.Namespace, nil},
		{"src_name", &f.SrcName, nil}, {"dst_name", &f.DstName, nil}, {"name", &f.Name, nil},
		{"src_type", &f.SrcType, endpointTypes}, {"dst_type", &f.DstType, endpointTypes}, {"type", &f.Type, endpointTypes},
		{"src_label", &f.SrcLabel, nil}, {"dst_label", &f.DstLabel, nil}, {"label", &f.Label, nil},
		{"action", &f.Action, []string{"allow", "deny"}}, {"reporter", &f.Reporter, []string{"src", "dst", "fwd"}},
		{"tier", &f.Tier, nil}, {"policy", &f.Policy, nil},
	}
	for _, l := range lists {
		for _, v := range q[l.key] {
			if v == "" {
				continue // an empty field of the filter bar
			}
			if err := checkValue(l.key, v); err != nil {
				return Filter{}, err
			}
			if l.enum != nil && !slices.Contains(l.enum, v) {
				return Filter{}, badf("%s=%q: want one of %s", l.key, v, strings.Join(l.enum, ", "))
			}
			if strings.HasSuffix(l.key, "label") && !strings.Contains(v, "=") {
				return Filter{}, badf("%s=%q: want key=value", l.key, v)
			}
			*l.dst = append(*l.dst, v)
		}
	}
	return f, nil
}

var endpointTypes = []string{"wep", "hep", "ns", "net"}

// checkValue rejects values no Kubernetes or Calico name can have: too
// long, not UTF-8, or with control characters.
func checkValue(key, v string) error {
	if len(v) > maxValueLen {
		return badf("%s: value of %d bytes is longer than %d", key, len(v), maxValueLen)
	}
	if !utf8.ValidString(v) {
		return badf("%s: value is not valid UTF-8", key)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return badf("%s: value contains a control character", key)
	}
	return nil
}

func (f *Filter) parseTime(q url.Values, now time.Time, maxRange time.Duration) error {
	from, to := q.Get("from"), q.Get("to")
	rng := q.Get("range")
	switch {
	case rng != "" && (from != "" || to != ""):
		return badf("give either range (a preset) or from/to (absolute), not both")
	case from != "" || to != "":
		if from == "" || to == "" {
			return badf("an absolute range needs both from and to (RFC 3339 or Unix milliseconds)")
		}
		var err error
		if f.From, err = parseTime("from", from); err != nil {
			return err
		}
		if f.To, err = parseTime("to", to); err != nil {
			return err
		}
	default:
		if rng == "" {
			rng = DefaultRange
		}
		d, err := parsePreset(rng)
		if err != nil {
			return err
		}
		f.Range, f.To = rng, now
		f.From = now.Add(-d)
	}
	if !f.From.Before(f.To) {
		return badf("from (%s) must be before to (%s)", f.From.Format(time.RFC3339), f.To.Format(time.RFC3339))
	}
	if f.To.Sub(f.From) > maxRange {
		return badf("time range of %s is longer than the %s allowed (ui.max_range)", f.To.Sub(f.From), maxRange)
	}
	return nil
}

// parsePreset reads "15m", "1h", "7d": a positive integer and a unit.
func parsePreset(s string) (time.Duration, error) {
	if len(s) < 2 || len(s) > 8 {
		return 0, badf("range=%q: want a number and a unit m, h or d, e.g. 1h", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, badf("range=%q: want a number and a unit m, h or d, e.g. 1h", s)
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, badf("range=%q: unit must be m, h or d", s)
	}
	return time.Duration(n) * unit, nil
}

func parseTime(key, s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < 0 || ms > 1e14 {
			return time.Time{}, badf("%s=%q: Unix milliseconds out of range", key, s)
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, badf("%s=%q: want RFC 3339 (2026-12-03T08:00:00Z) or Unix milliseconds", key, s)
	}
	return t.UTC(), nil
}
