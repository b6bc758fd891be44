package schema

import "unsafe"

// Each calls fn for every element in order until fn returns false. String
// elements are passed unquoted and unescaped (aliasing l.Raw unless they
// contain escapes); other elements (numbers, objects) as their JSON text.
// A List whose Raw is not a valid array yields the elements before the
// first invalid one.
func (l List) Each(fn func(elem string) bool) {
	if l.Raw == "" || l.Raw[0] != '[' {
		return
	}
	p := scanner{s: l.Raw, i: 1}
	for n := 0; ; n++ {
		done, err := p.arrayNext(n)
		if err != nil || done || p.i >= len(p.s) {
			return
		}
		start := p.i
		var v string
		if p.s[p.i] == '"' {
			v, err = p.scanString(true)
		} else {
			err = p.skipValue(1)
			v = p.s[start:p.i]
		}
		if err != nil || !fn(v) {
			return
		}
	}
}

// Len returns the number of elements (0 for null or []).
func (l List) Len() int {
	n := 0
	l.Each(func(string) bool { n++; return true })
	return n
}

// Strings returns the elements as owned strings (see Each), nil when l is
// empty. It allocates twice: the slice and one buffer for all strings.
func (l List) Strings() []string {
	n, size := 0, 0
	l.Each(func(e string) bool { n++; size += len(e); return true })
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	buf := make([]byte, 0, size)
	l.Each(func(e string) bool {
		buf = append(buf, e...)
		out = append(out, unsafe.String(unsafe.SliceData(buf[len(buf)-len(e):]), len(e)))
		return true
	})
	return out
}

// Ints returns the integer elements, nil when l is empty. Elements that
// are not integers are skipped (ParseFlow rejects them).
func (l List) Ints() []int64 {
	var out []int64
	l.Each(func(e string) bool {
		p := scanner{s: e}
		if v, ok, err := p.optInt(); err == nil && ok && p.i == len(e) {
			out = append(out, v)
		}
		return true
	})
	return out
}

// RawList builds a List whose elements are the given JSON texts (for
// example DNS server objects), which must each be one valid JSON value.
func RawList(elems []string) List {
	if len(elems) == 0 {
		return List{}
	}
	b := []byte{'['}
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return List{Raw: string(append(b, ']'))}
}

// cloneStrings re-points every *p at one fresh buffer holding a copy of
// all of them: one allocation for any number of strings.
func cloneStrings(ptrs []*string) {
	size := 0
	for _, p := range ptrs {
		size += len(*p)
	}
	if size == 0 {
		return
	}
	buf := make([]byte, 0, size)
	for _, p := range ptrs {
		if len(*p) == 0 {
			*p = ""
			continue
		}
		buf = append(buf, *p...)
		*p = unsafe.String(unsafe.SliceData(buf[len(buf)-len(*p):]), len(*p))
	}
}

// Clone returns a copy of f that owns its strings and Lists (one
// allocation), so it may outlive the line it was parsed from.
func (f *Flow) Clone() Flow {
	c := *f
	cloneStrings([]*string{
		&c.SourceIP, &c.SourceName, &c.SourceNameAggr, &c.SourceNamespace,
		&c.NATOutgoingPorts.Raw, &c.SourceType, &c.SourceLabels.Raw,
		&c.DestIP, &c.DestName, &c.DestNameAggr, &c.DestNamespace, &c.DestType,
		&c.DestLabels.Raw, &c.DestServiceNamespace, &c.DestServiceName,
		&c.DestServicePort, &c.DestDomains.Raw, &c.Proto, &c.Action, &c.Reporter,
		&c.Policies.All.Raw, &c.Policies.Enforced.Raw, &c.Policies.Pending.Raw,
		&c.Policies.Transit.Raw, &c.ProcessName, &c.ProcessID, &c.ProcessArgs.Raw,
		&c.OriginalSourceIPs.Raw,
	})
	return c
}

// Clone returns a copy of l that owns its strings (one allocation).
func (l *L7) Clone() L7 {
	c := *l
	cloneStrings(c.stringFields())
	return c
}

func (l *L7) stringFields() []*string {
	return []*string{
		&l.SrcNameAggr, &l.SrcNamespace, &l.SrcType, &l.DestNameAggr,
		&l.DestNamespace, &l.DestType, &l.DestServiceName, &l.DestServiceNS,
		&l.DestServicePortName, &l.Method, &l.UserAgent, &l.URL, &l.ResponseCode,
		&l.Type, &l.Protocol, &l.ProtocolVersion, &l.CollectorType,
		&l.CollectorName, &l.TLSSNI, &l.TLSVersion, &l.TLSCipherSuite, &l.Verdict,
	}
}

// Clone returns a copy of d that owns its strings and Lists (one
// allocation).
func (d *DNS) Clone() DNS {
	c := *d
	cloneStrings([]*string{
		&c.Type, &c.ClientName, &c.ClientNameAggr, &c.ClientNamespace,
		&c.ClientIP, &c.ClientLabels, &c.Servers.Raw, &c.QName, &c.QClass,
		&c.QType, &c.RCode, &c.RRSets.Raw,
	})
	return c
}
