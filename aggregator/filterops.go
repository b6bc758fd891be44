package aggregator

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// strMatcher compiles the operator of a string-typed condition.
func strMatcher(m *Match, typ fieldType) (func(string) bool, error) {
	switch {
	case m.Equals != nil:
		want := *m.Equals
		return func(s string) bool { return s == want }, nil
	case m.In != nil:
		set := make(map[string]struct{}, len(m.In))
		for _, s := range m.In {
			set[s] = struct{}{}
		}
		return func(s string) bool { _, ok := set[s]; return ok }, nil
	case m.Prefix != nil:
		p := *m.Prefix
		return func(s string) bool { return strings.HasPrefix(s, p) }, nil
	case m.Regex != nil:
		re, err := regexp.Compile(*m.Regex)
		if err != nil {
			return nil, fmt.Errorf("regex: %w", err)
		}
		return re.MatchString, nil
	case m.CIDR != nil:
		if typ != tIP && typ != tIPList {
			return nil, errors.New("cidr applies only to IP fields (source_ip, dest_ip, client_ip, original_source_ips)")
		}
		prefixes := make([]netip.Prefix, len(m.CIDR))
		for i, c := range m.CIDR {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, fmt.Errorf("cidr[%d]: %q is not a CIDR such as 10.0.0.0/8 or fd00::/8", i, c)
			}
			prefixes[i] = p.Masked()
		}
		return func(s string) bool {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return false
			}
			a = a.Unmap()
			for _, p := range prefixes {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}, nil
	}
	return nil, errors.New("range applies only to integer fields (ports, counters)")
}

func intMatcher(m *Match) (func(int64) bool, error) {
	switch {
	case m.Equals != nil:
		n, err := strconv.ParseInt(*m.Equals, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("equals: %q is not an integer", *m.Equals)
		}
		return func(v int64) bool { return v == n }, nil
	case m.In != nil:
		set := make(map[int64]struct{}, len(m.In))
		for i, s := range m.In {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("in[%d]: %q is not an integer", i, s)
			}
			set[n] = struct{}{}
		}
		return func(v int64) bool { _, ok := set[v]; return ok }, nil
	case m.Range != nil:
		type span struct{ lo, hi int64 }
		spans := make([]span, len(m.Range))
		for i, r := range m.Range {
			lo, hi, err := parseRange(r)
			if err != nil {
				return nil, fmt.Errorf("range[%d]: %w", i, err)
			}
			spans[i] = span{lo, hi}
		}
		return func(v int64) bool {
			for _, s := range spans {
				if v >= s.lo && v <= s.hi {
					return true
				}
			}
			return false
		}, nil
	}
	return nil, errors.New("prefix, regex and cidr do not apply to integer fields; use equals, in or range")
}

// parseRange parses "lo-hi" or "n" (inclusive).
func parseRange(s string) (lo, hi int64, err error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "-")
	lo, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	hi, err2 := lo, error(nil)
	if isRange {
		hi, err2 = strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	}
	if err1 != nil || err2 != nil || lo > hi {
		return 0, 0, fmt.Errorf("%q is not a range such as 1-1024 or 53", s)
	}
	return lo, hi, nil
}
