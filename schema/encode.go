package schema

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// enc appends one JSON object's members to b. Keys are trusted constants;
// values are escaped.
type enc struct{ b []byte }

// key appends "k": preceded by a comma unless it opens an object.
func (e *enc) key(k string) {
	if n := len(e.b); n > 0 && e.b[n-1] != '{' {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
}

func (e *enc) str(k, v string) {
	e.key(k)
	e.b = AppendJSONString(e.b, v)
}

func (e *enc) int(k string, v int64) {
	e.key(k)
	e.b = strconv.AppendInt(e.b, v, 10)
}

func (e *enc) optInt(k string, v OptInt) {
	e.key(k)
	if !v.Valid {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = strconv.AppendInt(e.b, v.V, 10)
}

// optStr writes v, or null when v is nil.
func (e *enc) optStr(k string, v *string) {
	e.key(k)
	if v == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = AppendJSONString(e.b, *v)
}

// strs writes a string array, or null when v is nil and nullable.
func (e *enc) strs(k string, v []string, nullable bool) {
	e.key(k)
	if v == nil && nullable {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i, s := range v {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.b = AppendJSONString(e.b, s)
	}
	e.b = append(e.b, ']')
}

// ints writes an integer array, or null when v is nil.
func (e *enc) ints(k string, v []int64) {
	e.key(k)
	if v == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i, n := range v {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.b = strconv.AppendInt(e.b, n, 10)
	}
	e.b = append(e.b, ']')
}

// raw writes trusted JSON text, or null when it is empty.
func (e *enc) raw(k, v string) {
	e.key(k)
	if v == "" {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, v...)
}

func (e *enc) bool(k string, v bool) {
	e.key(k)
	e.b = strconv.AppendBool(e.b, v)
}

// open starts a nested object member; close ends it.
func (e *enc) open(k string) { e.key(k); e.b = append(e.b, '{') }
func (e *enc) close()        { e.b = append(e.b, '}') }

// meta appends host, cluster, the optional @timestamp (epoch millis, when
// tsMillis >= 0) and the "flowship" object.
func (e *enc) meta(m *Meta, tsMillis int64) {
	e.str("host", m.Host)
	e.str("cluster", m.Cluster)
	if tsMillis >= 0 {
		e.int("@timestamp", tsMillis)
	}
	e.open("flowship")
	e.int("schema", Version)
	e.str("id", m.ID)
	e.int("bucket_start", m.BucketStart)
	e.int("bucket_end", m.BucketEnd)
	e.int("records", m.Records)
	if m.Level >= 0 {
		e.int("level", int64(m.Level))
	}
	e.close()
}

// rfc3339 writes Unix nanoseconds as an RFC 3339 UTC string with
// nanoseconds, as Felix writes DNS times.
func (e *enc) rfc3339(k string, ns int64) {
	e.key(k)
	e.b = append(e.b, '"')
	e.b = time.Unix(0, ns).UTC().AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, '"')
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD; control characters, '"' and '\\' are escaped, and so are U+2028
// and U+2029 so that the output is also valid JavaScript. It allocates
// nothing beyond b's growth; the bulk builder uses it for _ids.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
