package elasticsearch

import (
	"bytes"
	"errors"
	"unicode/utf8"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
)

// appendCreate appends one bulk "create" action for r and its document to
// dst as two NDJSON lines:
//
//	{"create":{"_index":"<index>","_id":"<id>"}}
//	<r.Value>
//
// The index comes from n, r.Kind and r.Time. r.Value is written as is
// (it already is a JSON object; a flow document gains "policy_hits", see
// appendWithPolicyHits); a raw newline in it can only be JSON
// whitespace, so it is written as a space to keep the NDJSON framing.
// Nothing is allocated beyond dst's growth, except a flow's parsed hits.
func appendCreate(dst []byte, n Naming, r *pipeline.Record) []byte {
	return appendCreateCached(dst, n, r, nil)
}

// appendCreateCached is appendCreate with the worker's cache of rendered
// policy traces (nil: none).
func appendCreateCached(dst []byte, n Naming, r *pipeline.Record, c *hitsCache) []byte {
	dst = append(dst, `{"create":{"_index":"`...)
	dst = n.AppendIndex(dst, r.Kind, r.Time)
	dst = append(dst, `","_id":`...)
	dst = schema.AppendJSONString(dst, r.ID)
	dst = append(dst, "}}\n"...)
	start := len(dst)
	if r.Kind == pipeline.KindFlow {
		dst = appendWithPolicyHits(dst, r.Value, c) // nested policy_hits for the UI's Policy Board
	} else {
		dst = append(dst, r.Value...)
	}
	if bytes.IndexByte(dst[start:], '\n') >= 0 {
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
