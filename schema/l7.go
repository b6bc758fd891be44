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
	switch key {
	case "start_time":
		*seen |= 1
		l.StartTime, err = p.time()
		return err
	case "end_time":
		*seen |= 2
		l.EndTime, err = p.time()
		return err
	}
	if n := l.intField(key); n != nil {
		*n, err = p.int()
		return err
	}
	if s := l.strField(key); s != nil {
		*s, err = p.str()
		return err
	}
	return p.skipValue(1)
}

// intField returns the integer field named key, nil if none.
func (l *L7) intField(key string) *int64 {
	switch key {
	case "duration_mean":
		return &l.DurationMean
	case "duration_max":
		return &l.DurationMax
	case "latency":
		return &l.Latency
	case "bytes_in":
		return &l.BytesIn
	case "bytes_out":
		return &l.BytesOut
	case "count":
		return &l.Count
	case "source_port_num":
		return &l.SourcePortNum
	case "dest_port_num":
		return &l.DestPortNum
	case "dest_service_port":
		return &l.DestServicePort
	}
	return nil
}

// strField returns the string field named key, nil if none.
func (l *L7) strField(key string) *string {
	switch key {
	case "src_name_aggr":
		return &l.SrcNameAggr
	case "src_namespace":
		return &l.SrcNamespace
	case "src_type":
		return &l.SrcType
	case "dest_name_aggr":
		return &l.DestNameAggr
	case "dest_namespace":
		return &l.DestNamespace
	case "dest_type":
		return &l.DestType
	case "dest_service_name":
		return &l.DestServiceName
	case "dest_service_namespace":
		return &l.DestServiceNS
	case "dest_service_port_name":
		return &l.DestServicePortName
	case "method":
		return &l.Method
	case "user_agent":
		return &l.UserAgent
	case "url":
		return &l.URL
	case "response_code":
		return &l.ResponseCode
	case "type":
		return &l.Type
	case "protocol":
		return &l.Protocol
	case "protocol_version":
		return &l.ProtocolVersion
	case "collector_type":
		return &l.CollectorType
	case "collector_name":
		return &l.CollectorName
	case "tls_sni":
		return &l.TLSSNI
	case "tls_version":
		return &l.TLSVersion
	case "tls_cipher_suite":
		return &l.TLSCipherSuite
	case "verdict":
		return &l.Verdict
	}
	return nil
}
