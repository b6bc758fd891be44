package schema

import (
	"fmt"
	"time"
)

var dnsRequired = [...]string{"start_time", "end_time", "type"}

// ParseDNS parses one dns.log line (spec §5) into d in a single pass,
// allocating nothing unless a string contains escapes.
//
// d's strings alias line (see ParseFlow). Required: start_time and
// end_time (RFC 3339 strings, converted to Unix nanoseconds, years
// 1678–2261) and type; the per-node overflow record (type "unlogged")
// has little else. client_labels is kept as its raw JSON object, servers
// and rrsets as Lists of raw objects. The nested latency object and the
// flat latency_* keys both fill the Latency* fields. null numbers read as
// 0, null strings as "". Errors are *SyntaxError or *FieldError.
func ParseDNS(line []byte, d *DNS) error {
	*d = DNS{}
	p := scanner{s: view(line)}
	if err := p.begin(); err != nil {
		return err
	}
	var seen uint32
	for first := true; ; {
		key, more, err := p.nextKey(&first)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		p.key = key
		if err := d.field(&p, key, &seen); err != nil {
			return err
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	return checkRequired(seen, dnsRequired[:])
}

// field reads the value of one dns.log key.
func (d *DNS) field(p *scanner, key string, seen *uint32) (err error) {
	switch key {
	case "start_time":
		*seen |= 1
		d.StartTime, err = p.rfc3339()
	case "end_time":
		*seen |= 2
		d.EndTime, err = p.rfc3339()
	case "type":
		*seen |= 4
		d.Type, err = p.reqStr()
	case "count":
		d.Count, err = p.int()
	case "client_name":
		d.ClientName, err = p.str()
	case "client_name_aggr":
		d.ClientNameAggr, err = p.str()
	case "client_namespace":
		d.ClientNamespace, err = p.str()
	case "client_ip":
		d.ClientIP, err = p.ip()
	case "client_labels":
		d.ClientLabels, err = p.rawObject()
	case "servers":
		d.Servers, err = p.list(elemObject)
	case "qname":
		d.QName, err = p.str()
	case "qclass":
		d.QClass, err = p.str()
	case "qtype":
		d.QType, err = p.str()
	case "rcode":
		d.RCode, err = p.str()
	case "rrsets":
		d.RRSets, err = p.list(elemObject)
	case "latency":
		err = p.latency(d)
	case "latency_count":
		d.LatencyCount, err = p.int()
	case "latency_mean":
		d.LatencyMean, err = p.int()
	case "latency_max":
		d.LatencyMax, err = p.int()
	default:
		err = p.skipValue(1)
	}
	return err
}

// latency reads {"count","mean","max"} or null.
func (p *scanner) latency(d *DNS) error {
	if null, err := p.isNull(); null || err != nil {
		return err
	}
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return p.wrongType("object")
	}
	p.i++
	p.outer = p.key
	for first := true; ; {
		key, more, err := p.nextKey(&first)
		if err != nil || !more {
			p.outer, p.key = "", p.outer
			return err
		}
		p.key = key
		switch key {
		case "count":
			d.LatencyCount, err = p.int()
		case "mean":
			d.LatencyMean, err = p.int()
		case "max":
			d.LatencyMax, err = p.int()
		default:
			err = p.skipValue(2)
		}
		if err != nil {
			return err
		}
	}
}

// rfc3339 reads an RFC 3339 timestamp string as Unix nanoseconds.
func (p *scanner) rfc3339() (int64, error) {
	at := p.i
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return 0, p.wrongType("RFC 3339 timestamp string")
	}
	s, err := p.scanString(true)
	if err != nil {
		return 0, err
	}
	ns, ok := parseRFC3339(s)
	if !ok {
		p.i = at
		return 0, p.fieldErr(fmt.Sprintf("%q is not an RFC 3339 timestamp between years 1678 and 2261", s))
	}
	return ns, nil
}

// parseRFC3339 parses YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM) into Unix
// nanoseconds without allocating (time.Parse allocates a zone for
// numeric offsets).
func parseRFC3339(s string) (int64, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
		s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || year < 1678 || year > 2261 ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	rest := s[19:]
	var frac int64
	if rest != "" && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return 0, false
		}
		f, _ := digits(rest[1:n])
		for i := n; i < 10; i++ {
			f *= 10
		}
		frac, rest = int64(f), rest[n:]
	}
	var offset int
	switch {
	case rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	unix := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC).Unix() - int64(offset)
	return unix*1e9 + frac, true
}

func digits(s string) (int, bool) {
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
