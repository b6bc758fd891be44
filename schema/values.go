package schema

import (
	"fmt"
	"net/netip"
)

// Typed value readers on top of the scanner: each reads the value at p.i,
// checks its JSON type and reports a *FieldError naming the key when it
// is wrong.

// int reads an integer; null reads as 0 (Calico masks numbers with null).
func (p *scanner) int() (int64, error) {
	v, _, err := p.optInt()
	return v, err
}

// optInt reads an integer or null.
func (p *scanner) optInt() (v int64, valid bool, err error) {
	s, i := p.s, p.i
	if i >= len(s) {
		return 0, false, p.unexpected("an integer")
	}
	c := s[i]
	if c == 'n' {
		return 0, false, p.literal("null")
	}
	if c != '-' && (c < '0' || c > '9') {
		return 0, false, p.wrongType("integer")
	}
	neg := c == '-'
	if neg {
		i++
	}
	limit := uint64(1<<63 - 1)
	if neg {
		limit++
	}
	start := i
	var u uint64
	if i < len(s) && s[i] == '0' {
		i++
	} else {
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			d := uint64(s[i] - '0')
			if u > (limit-d)/10 {
				if _, err := p.skipNumber(); err != nil {
					return 0, false, err
				}
				return 0, false, p.fieldErr("integer out of range")
			}
			u = u*10 + d
		}
	}
	if i == start {
		p.i = i
		return 0, false, p.unexpected("a digit")
	}
	if i < len(s) && (s[i] == '.' || s[i] == 'e' || s[i] == 'E') {
		if _, err := p.skipNumber(); err != nil {
			return 0, false, err
		}
		return 0, false, p.fieldErr("want integer, got a fractional number")
	}
	p.i = i
	if neg {
		return -int64(u-1) - 1, true, nil
	}
	return int64(u), true, nil
}

// str reads a string; null reads as "".
func (p *scanner) str() (string, error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		return p.scanString(true)
	}
	if null, err := p.isNull(); null || err != nil {
		return "", err
	}
	return "", p.wrongType("string")
}

// reqStr reads a string that must not be null.
func (p *scanner) reqStr() (string, error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		return p.scanString(true)
	}
	return "", p.wrongType("string")
}

// ip reads an IP address string or null ("").
func (p *scanner) ip() (string, error) {
	at := p.i
	v, err := p.str()
	if err != nil || v == "" {
		return v, err
	}
	if _, perr := netip.ParseAddr(v); perr != nil {
		p.i = at
		return "", p.fieldErr(fmt.Sprintf("%q is not an IP address", v))
	}
	return v, nil
}

// elemKind is the required type of the elements of a List field.
type elemKind uint8

const (
	elemString elemKind = iota
	elemInt
	elemIP
	elemObject
)

var elemNames = [...]string{elemString: "string", elemInt: "integer", elemIP: "IP address string", elemObject: "object"}

// list reads an array whose elements are all of kind k, or null. The
// List aliases the line; null and [] both give the empty List.
func (p *scanner) list(k elemKind) (List, error) {
	if null, err := p.isNull(); null || err != nil {
		return List{}, err
	}
	if p.i >= len(p.s) || p.s[p.i] != '[' {
		return List{}, p.wrongType("array")
	}
	start := p.i
	p.i++
	for n := 0; ; n++ {
		done, err := p.arrayNext(n)
		if err != nil {
			return List{}, err
		}
		if done {
			if n == 0 {
				return List{}, nil
			}
			return List{Raw: p.s[start:p.i]}, nil
		}
		if err := p.elem(k); err != nil {
			return List{}, err
		}
	}
}

func (p *scanner) elem(k elemKind) error {
	var c byte
	if p.i < len(p.s) {
		c = p.s[p.i]
	}
	switch {
	case k == elemInt && (c == '-' || (c >= '0' && c <= '9')):
		_, _, err := p.optInt()
		return err
	case (k == elemString || k == elemIP) && c == '"':
		if k == elemString {
			_, err := p.scanString(false)
			return err
		}
		_, err := p.ip()
		return err
	case k == elemObject && c == '{':
		return p.skipValue(1)
	}
	got := p.kind()
	if got == "" {
		return p.unexpected("an array element")
	}
	return p.fieldErr("want an array of " + elemNames[k] + "s, got an element of type " + got)
}

// rawObject reads an object (validated) and returns its JSON text, or ""
// for null.
func (p *scanner) rawObject() (string, error) {
	if null, err := p.isNull(); null || err != nil {
		return "", err
	}
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return "", p.wrongType("object")
	}
	start := p.i
	if err := p.skipValue(1); err != nil {
		return "", err
	}
	return p.s[start:p.i], nil
}
