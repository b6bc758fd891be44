package schema

var l7Required = [...]string{"start_time", "end_time"}

// ParseL7 parses one l7.log line (spec §4.5) into l in a single pass,
// allocating nothing unless a string contains escapes.
//
// l's strings alias line (see ParseFlow). Only start_time and end_time are
// required (integers in [0, MaxTime]): every other key may be absent, and
// the overflow record (type "unlogged") carries them all as zero values.
// null numbers read as 0, null strings as "". The optional newer keys
// (protocol, protocol_version, collector_type, collector_name, tls_sni,
// tls_version, tls_cipher_suite) are read when present; other unknown
// keys are validated and ignored. Errors are *SyntaxError or *FieldError.
func ParseL7(line []byte, l *L7) error {
	*l = L7{}
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
		if err := l.field(&p, key, &seen); err != nil {
			return err
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	return checkRequired(seen, l7Required[:])
}

// field reads the value of one l7.log key.
func (l *L7) field(p *scanner, key string, seen *uint32) (err error) {
	var n *int64
	var s *string
	switch key {
	case "start_time":
		*seen |= 1
		l.StartTime, err = p.time()
		return err
	case "end_time":
		*seen |= 2
		l.EndTime, err = p.time()
		return err
	case "duration_mean":
		n = &l.DurationMean
	case "duration_max":
		n = &l.DurationMax
	case "latency":
		n = &l.Latency
	case "bytes_in":
		n = &l.BytesIn
	case "bytes_out":
		n = &l.BytesOut
	case "count":
		n = &l.Count
	case "source_port_num":
		n = &l.SourcePortNum
	case "dest_port_num":
		n = &l.DestPortNum
	case "dest_service_port":
		n = &l.DestServicePort
	case "src_name_aggr":
		s = &l.SrcNameAggr
	case "src_namespace":
		s = &l.SrcNamespace
	case "src_type":
		s = &l.SrcType
	case "dest_name_aggr":
		s = &l.DestNameAggr
	case "dest_namespace":
		s = &l.DestNamespace
	case "dest_type":
		s = &l.DestType
	case "dest_service_name":
		s = &l.DestServiceName
	case "dest_service_namespace":
		s = &l.DestServiceNS
	case "dest_service_port_name":
		s = &l.DestServicePortName
	case "method":
		s = &l.Method
	case "user_agent":
		s = &l.UserAgent
	case "url":
		s = &l.URL
	case "response_code":
		s = &l.ResponseCode
	case "type":
		s = &l.Type
	case "protocol":
		s = &l.Protocol
	case "protocol_version":
		s = &l.ProtocolVersion
	case "collector_type":
		s = &l.CollectorType
	case "collector_name":
		s = &l.CollectorName
	case "tls_sni":
		s = &l.TLSSNI
	case "tls_version":
		s = &l.TLSVersion
	case "tls_cipher_suite":
		s = &l.TLSCipherSuite
	default:
		return p.skipValue(1)
	}
	if n != nil {
		*n, err = p.int()
	} else {
		*s, err = p.str()
	}
	return err
}
