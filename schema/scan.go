package schema

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
	"unsafe"
)

// scanner is a single-pass, validating JSON reader over one line. It
// returns strings that alias the line (unless they contain escapes) and
// allocates only on error paths and for escaped strings.
type scanner struct {
	s     string // the line
	i     int    // read position
	outer string // enclosing key of a nested known object ("policies"), for errors
	key   string // key whose value is being read, for errors
}

// view returns the bytes of b as a string without copying. The string is
// valid only while b is neither modified nor reused.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (p *scanner) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// begin checks that the line holds an object and consumes its '{'.
func (p *scanner) begin() error {
	p.ws()
	if p.i >= len(p.s) {
		return p.syntaxErr("empty line, want a JSON object")
	}
	if p.s[p.i] != '{' {
		if k := p.kind(); k != "" {
			return p.syntaxErr("want a JSON object, got " + k)
		}
		return p.unexpected("'{'")
	}
	p.i++
	return nil
}

// end checks that only whitespace follows the object.
func (p *scanner) end() error {
	p.key, p.outer = "", ""
	p.ws()
	if p.i != len(p.s) {
		return p.unexpected("end of line after the object")
	}
	return nil
}

// nextKey reads the next key of the object whose '{' was consumed and
// positions p at its value. more is false after the closing '}'. *first
// must be true before the first call for each object.
func (p *scanner) nextKey(first *bool) (key string, more bool, err error) {
	p.ws()
	if p.i >= len(p.s) {
		return "", false, p.unexpected("a key or '}'")
	}
	c := p.s[p.i]
	if c == '}' {
		p.i++
		return "", false, nil
	}
	if *first {
		*first = false
	} else {
		if c != ',' {
			return "", false, p.unexpected("',' or '}'")
		}
		p.i++
		p.ws()
	}
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false, p.unexpected("a key string")
	}
	if key, err = p.scanString(true); err != nil {
		return "", false, err
	}
	p.ws()
	if p.i >= len(p.s) || p.s[p.i] != ':' {
		p.key = key // name the key that lacks its value
		return "", false, p.unexpected("':'")
	}
	p.i++
	p.ws()
	return key, true, nil
}

func (p *scanner) literal(word string) error {
	if len(p.s)-p.i >= len(word) && p.s[p.i:p.i+len(word)] == word {
		p.i += len(word)
		return nil
	}
	return p.unexpected("a JSON value")
}

// isNull consumes a null literal if one is at p.i.
func (p *scanner) isNull() (bool, error) {
	if p.i < len(p.s) && p.s[p.i] == 'n' {
		return true, p.literal("null")
	}
	return false, nil
}

// scanString reads the string starting at the '"' at p.i. With build
// false it only validates and returns "". Unescaped strings alias p.s.
func (p *scanner) scanString(build bool) (string, error) {
	s := p.s
	start := p.i + 1
	for j := start; j < len(s); {
		j = plainRun(s, j)
		if j >= len(s) {
			break
		}
		c := s[j]
		switch {
		case c == '"':
			p.i = j + 1
			return s[start:j], nil
		case c == '\\':
			return p.scanEscaped(start, j, build)
		case c < 0x20:
			p.i = j
			return "", p.syntaxErr(fmt.Sprintf("%s inside a string (escape it)", describeByte(c)))
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && size == 1 {
				p.i = j
				return "", p.syntaxErr("invalid UTF-8 in a string")
			}
			j += size
		}
	}
	p.i = len(s)
	return "", p.unexpected("'\"' closing the string")
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plainRun returns the index of the first byte at or after j that is not
// plain string content (a control byte, '"', '\\' or a non-ASCII byte),
// or len(s). It tests eight bytes per step.
func plainRun(s string, j int) int {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	for ; j+8 <= len(b); j += 8 {
		v := binary.LittleEndian.Uint64(b[j:])
		quote := v ^ (lsb * '"')
		slash := v ^ (lsb * '\\')
		special := (v - lsb*0x20) | (quote - lsb) | (slash - lsb) | v
		if special&msb != 0 {
			break
		}
	}
	for j < len(b) && plain[b[j]] {
		j++
	}
	return j
}

// plain marks the bytes plainRun skips.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanEscaped continues scanString from the first backslash at j. With
// build it returns the unescaped value (allocating).
func (p *scanner) scanEscaped(start, j int, build bool) (string, error) {
	s := p.s
	var buf []byte
	if build {
		buf = append(make([]byte, 0, j-start+16), s[start:j]...)
	}
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			p.i = j + 1
			return string(buf), nil
		case c == '\\':
			r, n, err := p.escape(j)
			if err != nil {
				return "", err
			}
			if build {
				buf = utf8.AppendRune(buf, r)
			}
			j += n
		case c < 0x20:
			p.i = j
			return "", p.syntaxErr(fmt.Sprintf("%s inside a string (escape it)", describeByte(c)))
		default:
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && size == 1 {
				p.i = j
				return "", p.syntaxErr("invalid UTF-8 in a string")
			}
			if build {
				buf = append(buf, s[j:j+size]...)
			}
			j += size
		}
	}
	p.i = len(s)
	return "", p.unexpected("'\"' closing the string")
}

// escape decodes the escape sequence at j (s[j] == '\\'), joining UTF-16
// surrogate pairs; lone surrogates become U+FFFD as in encoding/json.
func (p *scanner) escape(j int) (rune, int, error) {
	s := p.s
	if j+1 >= len(s) {
		p.i = len(s)
		return 0, 0, p.unexpected("an escape character")
	}
	switch s[j+1] {
	case '"', '\\', '/':
		return rune(s[j+1]), 2, nil
	case 'b':
		return '\b', 2, nil
	case 'f':
		return '\f', 2, nil
	case 'n':
		return '\n', 2, nil
	case 'r':
		return '\r', 2, nil
	case 't':
		return '\t', 2, nil
	case 'u':
		r, ok := hex4(s, j+2)
		if !ok {
			p.i = j
			return 0, 0, p.syntaxErr(`invalid \u escape, want 4 hex digits`)
		}
		if r >= 0xD800 && r < 0xDC00 && j+7 < len(s) && s[j+6] == '\\' && s[j+7] == 'u' {
			if lo, ok := hex4(s, j+8); ok && lo >= 0xDC00 && lo < 0xE000 {
				return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), 12, nil
			}
		}
		if r >= 0xD800 && r < 0xE000 {
			return utf8.RuneError, 6, nil
		}
		return r, 6, nil
	}
	p.i = j
	return 0, 0, p.syntaxErr(fmt.Sprintf("invalid escape \\%c", s[j+1]))
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skipNumber validates the JSON number at p.i and reports whether it is
// an integer (no fraction, no exponent).
func (p *scanner) skipNumber() (integer bool, err error) {
	s, i := p.s, p.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		p.i = i
		return false, p.unexpected("a digit")
	}
	integer = true
	if i < len(s) && s[i] == '.' {
		integer = false
		if i++; i >= len(s) || s[i] < '0' || s[i] > '9' {
			p.i = i
			return false, p.unexpected("a digit after '.'")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		integer = false
		if i++; i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			p.i = i
			return false, p.unexpected("a digit in the exponent")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	p.i = i
	return integer, nil
}

// skipValue validates and skips any JSON value at p.i.
func (p *scanner) skipValue(depth int) error {
	if depth > MaxDepth {
		return p.syntaxErr(fmt.Sprintf("nested deeper than %d levels", MaxDepth))
	}
	if p.i >= len(p.s) {
		return p.unexpected("a JSON value")
	}
	switch c := p.s[p.i]; {
	case c == '"':
		_, err := p.scanString(false)
		return err
	case c == '{':
		p.i++
		first := true
		for {
			_, more, err := p.nextKey(&first)
			if err != nil || !more {
				return err
			}
			if err := p.skipValue(depth + 1); err != nil {
				return err
			}
		}
	case c == '[':
		p.i++
		for n := 0; ; n++ {
			if done, err := p.arrayNext(n); err != nil || done {
				return err
			}
			if err := p.skipValue(depth + 1); err != nil {
				return err
			}
		}
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := p.skipNumber()
		return err
	}
	return p.unexpected("a JSON value")
}

// arrayNext positions p at element n of an array whose '[' was consumed,
// or consumes the ']' and returns done.
func (p *scanner) arrayNext(n int) (done bool, err error) {
	p.ws()
	if p.i >= len(p.s) {
		return false, p.unexpected("an element or ']'")
	}
	if p.s[p.i] == ']' {
		p.i++
		return true, nil
	}
	if n > 0 {
		if p.s[p.i] != ',' {
			return false, p.unexpected("',' or ']'")
		}
		p.i++
		p.ws()
	}
	return false, nil
}
