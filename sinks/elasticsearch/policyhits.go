package elasticsearch

import (
	"bytes"
	"strconv"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/flowship/flowship/schema"
)

// maxCachedPolicies bounds a hitsCache: distinct policy traces a worker
// keeps rendered (each about 1 KiB with its hits: 8 MiB when full; the
// benchmark's 415k flow documents hold 6,876 distinct traces). A full
// cache is emptied and fills again.
const maxCachedPolicies = 8192

// hitsCache maps the raw "policies" value of a flow document to its
// rendered policy_hits entries. Each worker has its own (no locks); the
// documents of one cluster share few distinct policy traces, so most
// documents skip parsing them.
type hitsCache struct{ m map[string][]byte }

func (c *hitsCache) get(raw string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	v, ok := c.m[raw]
	return v, ok
}

// put stores a copy of raw (which may share a document's memory) and of
// hits.
func (c *hitsCache) put(raw string, hits []byte) {
	if c == nil {
		return
	}
	if c.m == nil || len(c.m) >= maxCachedPolicies {
		c.m = make(map[string][]byte, 64)
	}
	c.m[strings.Clone(raw)] = bytes.Clone(hits)
}

// appendWithPolicyHits appends the flow document doc to dst with its
// "policy_hits" array, exactly as schema.AppendWithPolicyHits does (its
// tests compare the two), but in one pass over the document's top-level
// keys, without allocating, and, with a cache c (nil: none), rendering
// each distinct policy trace once: the hot path of the indexer.
//
// doc is read through a string that shares its memory; no string taken
// from it outlives this call (values are copied into dst, and the cache
// clones its keys).
func appendWithPolicyHits(dst, doc []byte, c *hitsCache) []byte {
	body := bytes.TrimRight(doc, " \t\r\n")
	if len(body) < 2 || body[len(body)-1] != '}' {
		return append(dst, doc...)
	}
	pols, hasHits, ok := findPolicies(doc)
	if !ok { // a key with escapes, or not an object we can walk: gjson decides
		pols, hasHits = findPoliciesGJSON(doc)
	}
	if hasHits || !pols.IsObject() {
		return append(dst, doc...)
	}
	start := len(dst)
	dst = append(dst, body[:len(body)-1]...)
	dst = append(dst, `,"policy_hits":[`...)
	open := len(dst)
	if hits, ok := c.get(pols.Raw); ok {
		dst = append(dst, hits...)
	} else {
		dst = appendHits(dst, pols)
		c.put(pols.Raw, dst[open:])
	}
	if len(dst) == open { // no entry parsed: the document as it was
		return append(dst[:start], doc...)
	}
	return append(dst, "]}"...)
}

// appendHits appends the comma-separated policy_hits objects of the
// policies object pols.
func appendHits(dst []byte, pols gjson.Result) []byte {
	// The three traces, each the first occurrence of its key, as
	// gjson's Get finds them.
	var lists [3]gjson.Result
	var seen [3]bool
	pols.ForEach(func(k, v gjson.Result) bool {
		i := -1
		switch k.Str {
		case "enforced_policies":
			i = 0
		case "pending_policies":
			i = 1
		case "transit_policies":
			i = 2
		}
		if i >= 0 && !seen[i] {
			lists[i], seen[i] = v, true
		}
		return true
	})
	open := len(dst)
	for i, name := range [...]string{schema.HitsEnforced, schema.HitsPending, schema.HitsTransit} {
		lists[i].ForEach(func(_, v gjson.Result) bool {
			p, err := schema.ParsePolicy(v.String())
			if err != nil || v.Type != gjson.String {
				return true
			}
			if len(dst) > open {
				dst = append(dst, ',')
			}
			dst = appendHit(dst, name, &p)
			return true
		})
	}
	return dst
}

// findPolicies finds the first top-level "policies" value of doc and
// whether doc has a top-level "policy_hits", in one pass that skips the
// other values without decoding them. ok is false when it cannot tell:
// doc is not a JSON object, or a key holds an escape.
//
// Once "policies" is found, the rest of doc is searched instead of walked
// when it holds no backslash: a top-level "policy_hits" key there would
// show as the bytes `y_hits"`. Both searches run at memchr speed ('y' and
// '\\' are rare in flow documents), about twice as fast as the walk.
func findPolicies(doc []byte) (pols gjson.Result, hasHits, ok bool) {
	found := false
	ok = walkObject(doc, func(key, val []byte, end int) bool {
		switch string(key) {
		case "policy_hits":
			hasHits = true
			return false
		case "policies":
			if !found {
				pols, found = gjson.Parse(unsafe.String(unsafe.SliceData(val), len(val))), true
				rest := doc[end:]
				if bytes.IndexByte(rest, '\\') < 0 && !bytes.Contains(rest, []byte(`y_hits"`)) {
					return false // nothing after can be a policy_hits key
				}
			}
		}
		return true
	})
	return pols, hasHits, ok
}

// findPoliciesGJSON is findPolicies by gjson's rules, for what the fast
// walk leaves to it.
func findPoliciesGJSON(doc []byte) (pols gjson.Result, hasHits bool) {
	found := false
	gjson.Parse(unsafe.String(unsafe.SliceData(doc), len(doc))).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "policy_hits":
			hasHits = true
			return false
		case "policies":
			if !found {
				pols, found = v, true
			}
		}
		return true
	})
	return pols, hasHits
}

// walkObject calls f with the raw key (without quotes), the raw value and
// the index in doc after the value, for each member of the JSON object
// doc, in order, until f returns false.
// It returns false, having perhaps called f, when doc is not an object it
// can walk or a key holds a backslash escape.
func walkObject(doc []byte, f func(key, val []byte, end int) bool) bool {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return false
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return true
	}
	for i < len(doc) && doc[i] == '"' {
		end := skipString(doc, i)
		if end < 0 {
			return false
		}
		key := doc[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		i = skipSpace(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return false
		}
		i = skipSpace(doc, i+1)
		end = skipValue(doc, i)
		if end < 0 {
			return false
		}
		if !f(key, doc[i:end], end) {
			return true
		}
		i = skipSpace(doc, end)
		switch {
		case i < len(doc) && doc[i] == '}':
			return true
		case i < len(doc) && doc[i] == ',':
			i = skipSpace(doc, i+1)
		default:
			return false
		}
	}
	return false
}

// endsScalar reports whether c ends a number, true, false or null.
func endsScalar(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at doc[i] ('"'),
// -1 if it does not end. (A plain loop: the strings of a document are
// short, and bytes.IndexByte's call costs more than it saves on them.)
func skipString(doc []byte, i int) int {
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			j++ // the escaped character
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at doc[i], -1 if
// it does not end.
func skipValue(doc []byte, i int) int {
	if i >= len(doc) {
		return -1
	}
	switch doc[i] {
	case '"':
		return skipString(doc, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(doc); j++ {
			switch doc[j] {
			case '"':
				end := skipString(doc, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(doc) && !endsScalar(doc[j]) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// appendHit appends one policy_hits object, the fields in
// schema.AppendWithPolicyHits's order.
func appendHit(dst []byte, list string, p *schema.Policy) []byte {
	ns := p.Namespace
	if p.Kind == schema.KindProfile {
		// A namespace's profile belongs to that namespace (access to the
		// namespace covers its profile).
		if n, ok := strings.CutPrefix(p.Name, "__PROFILE__.kns."); ok {
			ns = n
		}
	}
	dst = append(dst, `{"list":`...)
	dst = schema.AppendJSONString(dst, list)
	dst = append(dst, `,"index":`...)
	dst = strconv.AppendInt(dst, int64(p.Index), 10)
	dst = append(dst, `,"tier":`...)
	dst = schema.AppendJSONString(dst, p.Tier)
	dst = append(dst, `,"kind":`...)
	dst = schema.AppendJSONString(dst, p.Kind)
	dst = append(dst, `,"namespace":`...)
	dst = schema.AppendJSONString(dst, ns)
	dst = append(dst, `,"name":`...)
	dst = schema.AppendJSONString(dst, p.Name)
	dst = append(dst, `,"action":`...)
	dst = schema.AppendJSONString(dst, p.Action)
	dst = append(dst, `,"rule":`...)
	dst = strconv.AppendInt(dst, int64(p.Rule), 10)
	return append(dst, '}')
}
