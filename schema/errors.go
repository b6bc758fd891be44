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

func (p *scanner) path() string {
	if p.outer == "" {
		return p.key
	}
	return p.outer + "." + p.key
}

func (p *scanner) syntaxErr(reason string) error {
	return &SyntaxError{Key: p.path(), Offset: p.i, Reason: reason}
}

func (p *scanner) fieldErr(reason string) error {
	return &FieldError{Key: p.path(), Reason: reason}
}

// unexpected reports the byte at p.i (or the end of the line) where want
// was expected.
func (p *scanner) unexpected(want string) error {
	if p.i >= len(p.s) {
		return p.syntaxErr("line ends early (truncated?), want " + want)
	}
	return p.syntaxErr(fmt.Sprintf("unexpected %s, want %s", describeByte(p.s[p.i]), want))
}

func describeByte(c byte) string {
	switch {
	case c == 0:
		return "NUL byte"
	case c >= 0x20 && c < 0x7f:
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// wrongType reports a value of the wrong JSON type, or a syntax error when
// the value does not start like any JSON value.
func (p *scanner) wrongType(want string) error {
	got := p.kind()
	if got == "" {
		return p.unexpected("a JSON value")
	}
	return p.fieldErr("want " + want + ", got " + got)
}

// kind names the JSON type of the value starting at p.i, "" if none.
func (p *scanner) kind() string {
	if p.i >= len(p.s) {
		return ""
	}
	switch c := p.s[p.i]; {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	}
	return ""
}
