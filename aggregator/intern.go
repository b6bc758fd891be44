package aggregator

import (
	"strings"

	"github.com/flowship/flowship/schema"
)

// maxInterned caps the values one part's intern table holds (strings and
// lists together). Past it, values are copied per entry as before: the
// table's memory is bounded by this count times the line size, whatever
// the churn of pods and policies, and it is freed with its part.
const maxInterned = 1 << 16

// internTable gives the open flow entries of one part shared copies of
// the values that repeat across keys: label lists, policy traces,
// namespaces, names, name_aggr. Identical lists (byte-identical JSON)
// share one backing []string, identical strings one backing string, so a
// new key costs pointers, not copies (issue 12). Lists are keyed by their
// raw JSON, so a line's list is found without decoding it.
//
// What the table hands out is shared by every entry of the part: it is
// replaced, never modified in place (the slices have cap == len, so an
// append copies). The table lives in its part and goes with it when the
// part is flushed; its zero value is ready to use. Not safe for
// concurrent use (a part is merged by one goroutine).
type internTable struct {
	strs  map[string]string
	lists map[string]internedList
	n     int // values held, at most maxInterned
}

// internedList is a list and its raw JSON (the map key, owned by the
// table), which entries keep to recognise an identical line cheaply.
type internedList struct {
	raw   string
	elems []string
}

// String returns the shared copy of s (a fresh copy once the table is
// full).
func (t *internTable) String(s string) string {
	if s == "" {
		return ""
	}
	if c, ok := t.strs[s]; ok {
		return c
	}
	c := strings.Clone(s)
	if t.n >= maxInterned {
		return c
	}
	if t.strs == nil {
		t.strs = map[string]string{}
	}
	t.strs[c] = c
	t.n++
	return c
}

// List returns the shared elements of l (see internedList).
func (t *internTable) List(l schema.List) []string { return t.list(l).elems }

// list returns the interned form of l: its elements, nil when empty, and
// its raw JSON ("" when the table is full, so it matches no line). The
// elements alias the raw JSON's copy unless they contain escapes.
func (t *internTable) list(l schema.List) internedList {
	if l.Raw == "" {
		return internedList{}
	}
	if il, ok := t.lists[l.Raw]; ok {
		return il
	}
	if t.n >= maxInterned {
		return internedList{elems: l.Strings()}
	}
	raw := strings.Clone(l.Raw)
	il := internedList{raw: raw}
	if n := l.Len(); n > 0 {
		// Each's elements alias raw (this copy) unless they contain
		// escapes, which it unescapes into fresh strings.
		il.elems = make([]string, 0, n)
		schema.List{Raw: raw}.Each(func(e string) bool {
			il.elems = append(il.elems, e)
			return true
		})
	}
	if t.lists == nil {
		t.lists = map[string]internedList{}
	}
	t.lists[raw] = il
	t.n++
	return il
}

// raw returns the table's copy of l's raw JSON when l is interned, ""
// otherwise (without interning it).
func (t *internTable) raw(l schema.List) string {
	if il, ok := t.lists[l.Raw]; ok {
		return il.raw
	}
	return ""
}

// rawOf interns l's raw JSON like list and returns the table's copy, ""
// when l is empty or the table is full (it then builds nothing).
func (t *internTable) rawOf(l schema.List) string {
	if il, ok := t.lists[l.Raw]; ok || l.Raw == "" || t.n >= maxInterned {
		return il.raw
	}
	return t.list(l).raw
}
