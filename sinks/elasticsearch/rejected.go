package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// RejectedDocument is the JSON value of a record the sink hands to its
// dead-letter consumer: a document Elasticsearch refused permanently (or
// that could not be sent at all), with why and where it was going. This
// package is its only owner: the sink encodes it (Encode) and the
// dead-letter consumer decodes it (ParseRejectedDocument); nothing else
// reads or writes its JSON.
type RejectedDocument struct {
	// Index is the daily index the document was meant for.
	Index string `json:"index"`
	// Status is the HTTP status of the item (or of the single-document
	// request); 0 when the record was refused before any request.
	Status int `json:"status"`
	// ErrorType is Elasticsearch's error.type, e.g.
	// "document_parsing_exception"; "flowship_invalid_record" for records
	// with no kind, time, _id or document.
	ErrorType string `json:"error_type"`
	// Reason is Elasticsearch's error.reason.
	Reason string `json:"reason"`
	// Document is the original document when it is valid JSON.
	Document json.RawMessage `json:"document,omitempty"`
	// DocumentText holds the original bytes as a string when they are not
	// valid JSON (Document is then absent).
	DocumentText string `json:"document_text,omitempty"`
}

// newRejectedDocument returns the envelope of doc, keeping the document
// as JSON when it is valid JSON and as text otherwise.
func newRejectedDocument(index string, res itemResult, doc []byte) RejectedDocument {
	rd := RejectedDocument{Index: index, Status: res.Status, ErrorType: res.ErrorType, Reason: res.Reason}
	if json.Valid(doc) {
		rd.Document = doc
	} else {
		rd.DocumentText = string(doc)
	}
	return rd
}

// Encode returns rd as one line of JSON (no trailing newline, HTML
// characters not escaped).
func (rd RejectedDocument) Encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rd); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseRejectedDocument decodes a value written by Encode.
func ParseRejectedDocument(value []byte) (RejectedDocument, error) {
	var rd RejectedDocument
	if err := json.Unmarshal(value, &rd); err != nil {
		return RejectedDocument{}, fmt.Errorf("not a rejected-document envelope: %w", err)
	}
	return rd, nil
}

// Original returns the document as it was before it was rejected.
func (rd RejectedDocument) Original() []byte {
	if len(rd.Document) > 0 {
		return rd.Document
	}
	return []byte(rd.DocumentText)
}

// Cause returns "error_type: reason", or the reason alone when there is
// no error type.
func (rd RejectedDocument) Cause() string {
	if rd.ErrorType == "" {
		return rd.Reason
	}
	return rd.ErrorType + ": " + rd.Reason
}
