package aggregator

import (
	"hash/maphash"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema"
)

// lineResult says what became of a line in prepare.
type lineResult uint8

const (
	lineOK lineResult = iota
	lineBad
	lineFiltered
)

// kindProc is the per-kind part of a stream: parse, filter, key, merge,
// encode. prepare leaves the parsed, masked view and its key in a slot
// of the kindProc for the add that follows; slots lets one goroutine
// prepare lines into some slots while another adds the lines of other
// slots (stream.lines). prepare touches only its slot and the proc's
// parse-side scratch, add and emit only the merge side: one goroutine may
// prepare while another adds, but neither method is safe for concurrent
// use with itself.
type kindProc interface {
	// slots makes slots 0..n-1 usable.
	slots(n int)
	prepare(slot int, line []byte) (eventTime int64, res lineResult, err error)
	// span returns the prepared line's start_time and end_time in Unix
	// seconds.
	span(slot int) (start, end int64)
	add(p *part, slot int) (newKey bool)
	emit(p *part, i int, meta schema.Meta, dst []byte) []byte
}

// grow returns s with at least n elements, keeping the existing ones (and
// their scratch buffers).
func grow[T any](s []T, n int) []T {
	if len(s) >= n {
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

// part is one bucket part: the entries of the keys seen since the
// bucket (or its previous part) was flushed. Entries are kept in
// first-seen order so output is deterministic.
type part struct {
	id       partID
	deadline int64 // flush once the watermark reaches it (Unix seconds)
	index    map[string]int
	keys     []string
	flows    []*flowEntry
	l7s      []*l7Entry
	dnss     []*dnsEntry
	srcs     map[uint64]srcState // flows: per source line identity
	flowSlab []flowEntry         // flows: entries are carved from here, flowSlabSize at a time
	intern   internTable         // flows: the entries' shared labels, policies and names (intern.go)
	batches  []*inBatch          // input batches with lines in this part
	last     *inBatch
}

func (p *part) len() int { return len(p.keys) }

// flowSlabSize is how many flow entries are allocated together. An entry
// holds a whole document (about 1 KB); one allocation per 64 instead of
// one per new key saves allocator work, and the slab lives exactly as
// long as the part that points into it.
const flowSlabSize = 64

// newFlow starts the entry of a new key in p from a masked line.
func (p *part) newFlow(f *schema.Flow, level int) *flowEntry {
	if len(p.flowSlab) == cap(p.flowSlab) {
		p.flowSlab = make([]flowEntry, 0, flowSlabSize)
	}
	p.flowSlab = p.flowSlab[:len(p.flowSlab)+1]
	e := &p.flowSlab[len(p.flowSlab)-1]
	e.tab = &p.intern
	initFlowEntry(e, f, level)
	return e
}

// slot returns the entry index for key, or -1 and registers key as the
// next index when new.
func (p *part) slot(key []byte) int {
	if i, ok := p.index[string(key)]; ok {
		return i
	}
	k := string(key)
	p.index[k] = len(p.keys)
	p.keys = append(p.keys, k)
	return -1
}

// srcState follows one source line identity (the Felix key the line came
// from) within a part, for num_flows across Felix windows and for policy
// split de-duplication.
type srcState struct {
	start     int64 // start_time of the earliest window seen
	carried   int64 // num_flows - num_flows_started of that window
	lastStart int64
	lastEnd   int64
	sig       uint64 // counters of the last line, to recognise split copies
}

type flowProc struct {
	filters       *Filters
	keyer         flowKeyer    // parse side
	ph            maphash.Hash // parse side
	groupByPolicy bool
	seed          maphash.Seed
	h             maphash.Hash // merge side
	s             []flowSlot
}

// flowSlot is one prepared flow line.
type flowSlot struct {
	v     schema.Flow
	k     []byte
	level int
	ident uint64
}

func (fp *flowProc) slots(n int) { fp.s = grow(fp.s, n) }

func (fp *flowProc) prepare(slot int, line []byte) (int64, lineResult, error) {
	sl := &fp.s[slot]
	if err := schema.ParseFlow(line, &sl.v); err != nil {
		return 0, lineBad, err
	}
	if !fp.filters.KeepFlow(&sl.v) {
		return 0, lineFiltered, nil
	}
	sl.ident = fp.identity(&sl.v)
	sl.k, sl.level = fp.keyer.key(sl.k[:0], &sl.v)
	return sl.v.EndTime, lineOK, nil
}

func (fp *flowProc) span(slot int) (int64, int64) {
	return fp.s[slot].v.StartTime, fp.s[slot].v.EndTime
}

// identity hashes the line's own key (before masking, without policies).
func (fp *flowProc) identity(f *schema.Flow) uint64 {
	h := &fp.ph
	h.SetSeed(fp.seed)
	for _, s := range [...]string{
		f.Proto, f.SourceIP, f.SourceName, f.SourceNameAggr, f.SourceNamespace, f.SourceType,
		f.DestIP, f.DestName, f.DestNameAggr, f.DestNamespace, f.DestType,
		f.DestServiceNamespace, f.DestServiceName, f.DestServicePort, f.Action, f.Reporter, f.ProcessName,
	} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	for _, o := range [...]schema.OptInt{f.SourcePort, f.DestPort, f.DestServicePortNum} {
		maphash.WriteComparable(h, o)
	}
	return h.Sum64()
}

func (fp *flowProc) add(p *part, slot int) bool {
	sl := &fp.s[slot]
	f := &sl.v
	fp.h.SetSeed(fp.seed)
	fp.h.Write(sl.k)
	maphash.WriteComparable(&fp.h, sl.ident)
	src := fp.h.Sum64()
	sig := uint64(f.BytesIn)*0x9E3779B97F4A7C15 ^ uint64(f.BytesOut)*0xC2B2AE3D27D4EB4F ^
		uint64(f.PacketsIn)*0x165667B19E3779F9 ^ uint64(f.PacketsOut) ^ uint64(f.NumFlows)<<32
	carried := max(f.NumFlows-f.NumFlowsStarted, 0)
	st, seen := p.srcs[src]
	dup, delta := false, int64(0)
	switch {
	case f.Verdict != "":
		// A Hubble event (docs/sources.md): num_flows counts events, so
		// every event adds its own; two equal events in one second are
		// two events, never a policy split copy.
		delta = carried
	case !seen:
		delta = carried
		st = srcState{start: f.StartTime, carried: carried}
	case !fp.groupByPolicy && st.lastStart == f.StartTime && st.lastEnd == f.EndTime && st.sig == sig:
		dup = true
	case f.StartTime < st.start:
		delta = carried - st.carried
		st.start, st.carried = f.StartTime, carried
	}
	st.lastStart, st.lastEnd, st.sig = f.StartTime, f.EndTime, sig
	p.srcs[src] = st
	i := p.slot(sl.k)
	isNew := i < 0
	if isNew {
		p.flows = append(p.flows, p.newFlow(f, sl.level))
		i = len(p.flows) - 1
	}
	p.flows[i].add(f, dup, delta, fp.groupByPolicy)
	return isNew
}

func (fp *flowProc) emit(p *part, i int, meta schema.Meta, dst []byte) []byte {
	d := p.flows[i].finish(meta)
	return schema.AppendFlowDoc(dst, &d)
}

type l7Proc struct {
	filters *Filters
	cfg     L7Config
	extra   []field[schema.L7]
	s       []keyedSlot[schema.L7]
}

// keyedSlot is one prepared line of a kind whose key is all add needs
// besides the parsed view (L7, DNS).
type keyedSlot[T any] struct {
	v T
	k []byte
}

func (lp *l7Proc) slots(n int) { lp.s = grow(lp.s, n) }

func (lp *l7Proc) prepare(slot int, line []byte) (int64, lineResult, error) {
	sl := &lp.s[slot]
	if err := schema.ParseL7(line, &sl.v); err != nil {
		return 0, lineBad, err
	}
	if !lp.filters.KeepL7(&sl.v) {
		return 0, lineFiltered, nil
	}
	sl.k = l7Key(sl.k[:0], &sl.v, &lp.cfg, lp.extra)
	return sl.v.EndTime, lineOK, nil
}

func (lp *l7Proc) span(slot int) (int64, int64) {
	return lp.s[slot].v.StartTime, lp.s[slot].v.EndTime
}

func (lp *l7Proc) add(p *part, slot int) bool {
	sl := &lp.s[slot]
	l := &sl.v
	if lim := lp.cfg.PerNodeLimit; lim > 0 && len(p.l7s) >= lim {
		if _, ok := p.index[string(sl.k)]; !ok {
			// Over the per-node limit: count the line in the overflow
			// document, as Felix does (spec §4.4).
			over := schema.L7{StartTime: l.StartTime, EndTime: l.EndTime, Count: l.Count, Type: unlogged}
			*l = over
			sl.k = l7Key(sl.k[:0], l, &lp.cfg, nil)
		}
	}
	i := p.slot(sl.k)
	isNew := i < 0
	if isNew {
		p.l7s = append(p.l7s, newL7Entry(l))
		i = len(p.l7s) - 1
	}
	p.l7s[i].add(l)
	return isNew
}

func (lp *l7Proc) emit(p *part, i int, meta schema.Meta, dst []byte) []byte {
	d := p.l7s[i].finish(meta)
	return schema.AppendL7Doc(dst, &d)
}

type dnsProc struct {
	filters *Filters
	level   int
	extra   []field[schema.DNS]
	s       []keyedSlot[schema.DNS]
}

func (dp *dnsProc) slots(n int) { dp.s = grow(dp.s, n) }

func (dp *dnsProc) prepare(slot int, line []byte) (int64, lineResult, error) {
	sl := &dp.s[slot]
	if err := schema.ParseDNS(line, &sl.v); err != nil {
		return 0, lineBad, err
	}
	if !dp.filters.KeepDNS(&sl.v) {
		return 0, lineFiltered, nil
	}
	sl.k = dnsKey(sl.k[:0], &sl.v, dp.level, dp.extra)
	return floorDiv(sl.v.EndTime, 1e9), lineOK, nil
}

func (dp *dnsProc) span(slot int) (int64, int64) {
	v := &dp.s[slot].v
	return floorDiv(v.StartTime, 1e9), floorDiv(v.EndTime, 1e9)
}

func (dp *dnsProc) add(p *part, slot int) bool {
	sl := &dp.s[slot]
	i := p.slot(sl.k)
	isNew := i < 0
	if isNew {
		p.dnss = append(p.dnss, newDNSEntry(&sl.v, dp.level))
		i = len(p.dnss) - 1
	}
	p.dnss[i].add(&sl.v)
	return isNew
}

func (dp *dnsProc) emit(p *part, i int, meta schema.Meta, dst []byte) []byte {
	d := p.dnss[i].finish(meta)
	return schema.AppendDNSDoc(dst, &d)
}

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func newProc(kind pipeline.Kind, cfg *Config, fs *Filters, kf keyFields, seed maphash.Seed) kindProc {
	switch kind {
	case pipeline.KindL7:
		return &l7Proc{filters: fs, cfg: cfg.L7, extra: kf.l7}
	case pipeline.KindDNS:
		return &dnsProc{filters: fs, level: cfg.DNSLevel, extra: kf.dns}
	}
	return &flowProc{
		filters:       fs,
		keyer:         flowKeyer{levels: cfg.Levels, groupByPolicy: cfg.GroupByPolicy, extra: kf.flows},
		groupByPolicy: cfg.GroupByPolicy,
		seed:          seed,
	}
}
