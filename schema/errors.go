package schema

import "fmt"

// SyntaxError reports a line that is not one well-formed JSON object:
// truncated, invalid UTF-8, control bytes (NUL included) in a string,
// trailing garbage, nesting deeper than MaxDepth. Callers add the file and
// line number.
type SyntaxError struct {
	Key    string // the key whose value was being read ("policies.all_policies"), "" outside any value
	Offset int    // byte offset in the line where the problem was found
	Reason string
}

func (e *SyntaxError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Reason)
	}
	return fmt.Sprintf("invalid JSON at byte %d in %q: %s", e.Offset, e.Key, e.Reason)
}

// FieldError reports a well-formed line whose field has the wrong JSON
// type, an unusable value, or is missing although required. Callers add
// the file and line number.
type FieldError struct {
	Key    string // the field, dotted for nested keys ("latency.count")
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("field %q: %s", e.Key, e.Reason)
}

// MaxDepth bounds the nesting of arrays and objects in a line. Calico
// lines nest at most three deep; deeper input is rejected rather than
// recursed into.
const MaxDepth = 64
