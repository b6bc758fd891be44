package aggregator

import (
	"math"
	"strings"

	"github.com/flowship/flowship/schema"
)

// maxInterned caps the values one part's intern table holds (strings and
// lists together; it also keeps list ids within a listID). Past it,
// values are copied per entry as before: the table's memory is bounded by
// this count times the line size, whatever the churn of pods and
// policies, and it is freed with its part.
const maxInterned = math.MaxUint16

// internTable gives the open flow entries of one part shared copies of
// the values that repeat across keys: label lists, policy traces,
// namespaces, names, name_aggr. Identical lists (byte-identical JSON)
// share one backing []string, identical strings one backing string, so a
// new key costs pointers, not copies (issue 12). Lists are keyed by their
// raw JSON, so a line's list is found without decoding it, and numbered
// (listID), so an entry remembers which list it last merged in 2 bytes.
//
// What the table hands out is shared by every entry of the part: it is
// replaced, never modified in place (the slices have cap == len, so an
// append copies). The table lives in its part and goes with it when the
// part is flushed; its zero value is ready to use. Not safe for
// concurrent use (a part is merged by one goroutine).
type internTable struct {
	strs  map[string]string
	ids   map[string]listID // raw JSON (owned by the table) → id
	lists []internedList    // by id-1
	n     int               // values held, at most maxInterned
}

// listID numbers an interned list within its table; 0 is no list. 16
// bits keep flowEntry within 1 KiB (TestFlowEntrySize).
type listID uint16

// internedList is a list and its raw JSON (the ids key).
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

// List returns the shared elements of l, nil when l is empty (as
// List.Strings); a fresh copy once the table is full.
func (t *internTable) List(l schema.List) []string {
	if id := t.id(l); id != 0 {
		return t.lists[id-1].elems
	}
	return l.Strings()
}

// id interns l and returns its id; 0 when l is empty or the table is
// full (it then builds nothing).
func (t *internTable) id(l schema.List) listID {
	if l.Raw == "" {
		return 0
	}
	if id, ok := t.ids[l.Raw]; ok {
		return id
	}
	if t.n >= maxInterned {
		return 0
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
	if t.ids == nil {
		t.ids = map[string]listID{}
	}
	t.lists = append(t.lists, il)
	id := listID(len(t.lists))
	t.ids[raw] = id
	t.n++
	return id
}

// same reports whether l is byte-identical to the list numbered id.
func (t *internTable) same(id listID, l schema.List) bool {
	return id != 0 && t.lists[id-1].raw == l.Raw
}
