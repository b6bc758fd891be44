package elasticsearch

import (
	"bytes"
	"errors"
	"unicode/utf8"

	"github.com/flowship/flowship/pipeline"
)

// appendCreate appends one bulk "create" action for r and its document to
// dst as two NDJSON lines:
//
//	{"create":{"_index":"<index>","_id":"<id>"}}
//	<r.Value>
//
// The index comes from n, r.Kind and r.Time. r.Value is written as is
// (it already is a JSON object); a raw newline in it can only be JSON
// whitespace, so it is written as a space to keep the NDJSON framing.
// Nothing is allocated beyond dst's growth.
func appendCreate(dst []byte, n Naming, r *pipeline.Record) []byte {
	dst = append(dst, `{"create":{"_index":"`...)
	dst = n.AppendIndex(dst, r.Kind, r.Time)
	dst = append(dst, `","_id":`...)
	dst = appendJSONString(dst, r.ID)
	dst = append(dst, "}}\n"...)
	start := len(dst)
	dst = append(dst, r.Value...)
	if bytes.IndexByte(r.Value, '\n') >= 0 {
		for i := start; i < len(dst); i++ {
			if dst[i] == '\n' {
				dst[i] = ' '
			}
		}
	}
	return append(dst, '\n')
}

// checkRecord reports why r cannot be indexed at all; such records go to
// the dead-letter consumer without a request.
func checkRecord(r *pipeline.Record) error {
	switch {
	case !r.Kind.Valid():
		return errors.New("record has no valid kind (flows, l7 or dns), so it has no index")
	case r.Time.IsZero():
		return errors.New("record has no event time, so it has no daily index")
	case r.ID == "":
		return errors.New("record has no _id; without one a replay would duplicate it")
	case !utf8.ValidString(r.ID):
		return errors.New("record _id is not valid UTF-8")
	case len(bytes.TrimSpace(r.Value)) == 0:
		return errors.New("record has an empty document")
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[last:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		last = i + 1
	}
	dst = append(dst, s[last:]...)
	return append(dst, '"')
}
