package aggregator

import (
	"slices"
	"strconv"
	"strings"

	"github.com/flowship/flowship/schema"
)

// Caps on merged sets (Felix's limits, spec §3.1).
const (
	maxDomains     = 5
	maxNATPorts    = 3
	maxOriginalIPs = 50
	maxProcessArgs = 5
	maxProcessIDs  = 64
)

// calicoLabelPrefix marks Calico-internal labels, dropped once two
// updates are intersected (spec §3.4.3).
const calicoLabelPrefix = "projectcalico.org/"

// flowEntry is one flow key's running merge inside one bucket part.
type flowEntry struct {
	doc     schema.FlowDoc // identity from the first (masked) line; sums so far
	carried int64          // flows carried into the first window of each source line identity
	pids    []string       // distinct explicit process IDs (capped)
	tcpW    int64          // weight of the TCP means (sum of num_flows of lines with TCP stats); > 0 once a line had them
	tcpSum  [4]int64       // weighted sums of the four tcp_mean_* fields

	// tab is the part's intern table (set by part.newFlow; a private one
	// when an entry is started elsewhere). The entry's label and policy
	// slices and identity strings come from it and are shared with the
	// part's other entries: they are replaced, never modified in place.
	tab *internTable
	// last holds, per merged list (lastSourceLabels...), the id in tab of
	// the last line's list merged into the document: a line carrying the
	// same list again changes nothing (intersection and capped union are
	// idempotent; pending_policies is replaced by an equal list), so the
	// common case is one comparison instead of a pairwise merge. 0 when
	// unknown. Ids, not strings: they keep the entry at 1 KiB, so a slab
	// of flowSlabSize entries fills whole pages (TestFlowEntrySize).
	last [numMergeLists]listID
}

// The lists whose last merged list an entry keeps (flowEntry.last).
const (
	lastSourceLabels = iota
	lastDestLabels
	lastAllPolicies
	lastEnforcedPolicies
	lastPendingPolicies
	lastTransitPolicies
	numMergeLists
)

// initFlowEntry starts entry e from a masked line.
func initFlowEntry(e *flowEntry, f *schema.Flow, level int) {
	tab := e.tab
	if tab == nil {
		tab = new(internTable)
	}
	// The merged sets are rebuilt by add: do not copy them from f.
	g := *f
	g.DestDomains, g.NATOutgoingPorts, g.OriginalSourceIPs = schema.List{}, schema.List{}, schema.List{}
	*e = flowEntry{doc: schema.FlowDocFromViewInterned(&g, tab), tab: tab}
	e.last = [numMergeLists]listID{
		lastSourceLabels: tab.id(f.SourceLabels), lastDestLabels: tab.id(f.DestLabels),
		lastAllPolicies: tab.id(f.Policies.All), lastEnforcedPolicies: tab.id(f.Policies.Enforced),
		lastPendingPolicies: tab.id(f.Policies.Pending), lastTransitPolicies: tab.id(f.Policies.Transit),
	}
	e.doc.Meta.Level = level
	e.doc.Meta.Records = 0
	d := &e.doc
	// Counters and merged sets are (re)built by add.
	d.BytesIn, d.BytesOut, d.PacketsIn, d.PacketsOut = 0, 0, 0, 0
	d.NumFlows, d.NumFlowsStarted, d.NumFlowsCompleted = 0, 0, 0
	d.HTTPRequestsAllowedIn, d.HTTPRequestsDeniedIn = 0, 0
	d.TCPTotalRetransmissions, d.TCPLostPackets, d.TCPUnrecoveredTO = 0, 0, 0
	d.TCPMeanSendCongestionWindow, d.TCPMinSendCongestionWin = 0, 0
	d.TCPMeanSmoothRTT, d.TCPMaxSmoothRTT, d.TCPMeanMinRTT, d.TCPMaxMinRTT = 0, 0, 0, 0
	d.TCPMeanMSS, d.TCPMinMSS = 0, 0
	d.NumProcessNames, d.NumProcessIDs, d.NumProcessArgs, d.NumOriginalSourceIPs = 0, 0, 0, 0
	d.DestDomains, d.NATOutgoingPorts, d.OriginalSourceIPs = nil, nil, nil
	if d.ProcessID != schema.NotIncluded && d.ProcessID != schema.Aggregated && d.ProcessID != "" {
		e.pids = append(e.pids, d.ProcessID)
	}
}

// addFlow merges line f into e. dup marks a policy split line (spec
// §2.3) whose counters were already counted: only its policies are
// merged. carried is the change of e's carried-over flow count.
func (e *flowEntry) add(f *schema.Flow, dup bool, carried int64, groupByPolicy bool) {
	d := &e.doc
	first := d.Meta.Records == 0
	d.Meta.Records++
	if !groupByPolicy {
		e.unionPolicies(f)
	} else if l := f.Policies.Pending; (l.Raw != "" || !first) && !e.tab.same(e.last[lastPendingPolicies], l) {
		// pending_policies is overwritten by each update (spec §3.4.4).
		d.PendingPolicies = replaceStrings(d.PendingPolicies, l, e.tab)
		e.last[lastPendingPolicies] = e.tab.id(l)
	}
	if dup {
		return
	}
	e.carried += carried
	d.StartTime = min(d.StartTime, f.StartTime)
	d.EndTime = max(d.EndTime, f.EndTime)
	d.BytesIn += f.BytesIn
	d.BytesOut += f.BytesOut
	d.PacketsIn += f.PacketsIn
	d.PacketsOut += f.PacketsOut
	d.NumFlowsStarted += f.NumFlowsStarted
	d.NumFlowsCompleted += f.NumFlowsCompleted
	d.HTTPRequestsAllowedIn += f.HTTPRequestsAllowedIn
	d.HTTPRequestsDeniedIn += f.HTTPRequestsDeniedIn
	if !first {
		e.mergeLabels(&d.SourceLabels, &d.SourceLabelsNull, f.SourceLabels, f.SourceLabelsNull, lastSourceLabels)
		e.mergeLabels(&d.DestLabels, &d.DestLabelsNull, f.DestLabels, f.DestLabelsNull, lastDestLabels)
	}
	d.DestDomains = unionStrings(d.DestDomains, f.DestDomains, maxDomains)
	d.NATOutgoingPorts = smallestPorts(d.NATOutgoingPorts, f.NATOutgoingPorts)
	d.OriginalSourceIPs = unionStrings(d.OriginalSourceIPs, f.OriginalSourceIPs, maxOriginalIPs)
	d.NumOriginalSourceIPs = max(d.NumOriginalSourceIPs, f.NumOriginalSourceIPs, int64(len(d.OriginalSourceIPs)))
	e.addProcess(f, first)
	e.addTCP(f)
}

// addProcess merges the process fields. process_name is part of the key;
// PIDs and args are capped unions, their num_* fields the larger of the
// largest line value and the distinct values seen (a lower bound: Felix
// does not write the folded values).
func (e *flowEntry) addProcess(f *schema.Flow, first bool) {
	d := &e.doc
	d.NumProcessNames = max(d.NumProcessNames, f.NumProcessNames)
	if !first && f.ProcessID != d.ProcessID {
		d.ProcessID = schema.Aggregated
	}
	if id := f.ProcessID; id != schema.NotIncluded && id != schema.Aggregated && id != "" &&
		!slices.Contains(e.pids, id) && len(e.pids) < maxProcessIDs {
		e.pids = append(e.pids, strings.Clone(id))
	}
	d.NumProcessIDs = max(d.NumProcessIDs, f.NumProcessIDs, int64(len(e.pids)))
	if f.NumProcessArgs > 0 || first {
		if len(d.ProcessArgs) == 1 && d.ProcessArgs[0] == schema.NotIncluded && f.NumProcessArgs > 0 {
			// Not [:0]: the slice may be the intern table's, shared.
			d.ProcessArgs = d.ProcessArgs[:0:0]
		}
		d.ProcessArgs = unionStrings(d.ProcessArgs, f.ProcessArgs, maxProcessArgs)
	}
	d.NumProcessArgs = max(d.NumProcessArgs, f.NumProcessArgs)
	if d.NumProcessArgs > 0 {
		d.NumProcessArgs = max(d.NumProcessArgs, int64(len(d.ProcessArgs)))
	}
}

// addTCP merges TCP socket stats (spec §3.4.6). Lines without stats (all
// zero: collection off) are ignored; means are weighted by num_flows.
func (e *flowEntry) addTCP(f *schema.Flow) {
	if f.TCPMeanSmoothRTT == 0 && f.TCPMeanMSS == 0 && f.TCPMeanSendCongestionWindow == 0 &&
		f.TCPMeanMinRTT == 0 && f.TCPTotalRetransmissions == 0 && f.TCPLostPackets == 0 {
		return
	}
	d := &e.doc
	w := max(f.NumFlows, 1)
	e.tcpSum[0] += f.TCPMeanSendCongestionWindow * w
	e.tcpSum[1] += f.TCPMeanSmoothRTT * w
	e.tcpSum[2] += f.TCPMeanMinRTT * w
	e.tcpSum[3] += f.TCPMeanMSS * w
	if e.tcpW == 0 {
		d.TCPMinSendCongestionWin, d.TCPMinMSS = f.TCPMinSendCongestionWin, f.TCPMinMSS
	} else {
		d.TCPMinSendCongestionWin = min(d.TCPMinSendCongestionWin, f.TCPMinSendCongestionWin)
		d.TCPMinMSS = min(d.TCPMinMSS, f.TCPMinMSS)
	}
	e.tcpW += w
	d.TCPMaxSmoothRTT = max(d.TCPMaxSmoothRTT, f.TCPMaxSmoothRTT)
	d.TCPMaxMinRTT = max(d.TCPMaxMinRTT, f.TCPMaxMinRTT)
	d.TCPTotalRetransmissions += f.TCPTotalRetransmissions
	d.TCPLostPackets += f.TCPLostPackets
	d.TCPUnrecoveredTO += f.TCPUnrecoveredTO
}

// finish fills the derived fields into a copy of the document.
func (e *flowEntry) finish(meta schema.Meta) schema.FlowDoc {
	d := e.doc
	level, records := d.Meta.Level, d.Meta.Records
	d.Meta = meta
	d.Meta.Level, d.Meta.Records = level, records
	d.NumFlows = d.NumFlowsStarted + e.carried
	if e.tcpW > 0 {
		d.TCPMeanSendCongestionWindow = e.tcpSum[0] / e.tcpW
		d.TCPMeanSmoothRTT = e.tcpSum[1] / e.tcpW
		d.TCPMeanMinRTT = e.tcpSum[2] / e.tcpW
		d.TCPMeanMSS = e.tcpSum[3] / e.tcpW
	}
	if records > 1 {
		d.SourceLabels = dropCalicoLabels(d.SourceLabels)
		d.DestLabels = dropCalicoLabels(d.DestLabels)
	}
	return d
}

// mergeLabels intersects the labels *have with line list l (see
// intersectLabels). A null side carries no information (label inclusion
// was off for that line) and is skipped. which names the list in e.last:
// a line whose list is byte-identical to the last one merged changes
// nothing and costs one comparison.
func (e *flowEntry) mergeLabels(have *[]string, haveNull *bool, l schema.List, lNull bool, which int) {
	if lNull || e.tab.same(e.last[which], l) {
		return
	}
	if *haveNull {
		*haveNull = false
		*have = e.tab.List(l)
	} else {
		*have = intersectLabels(*have, l)
	}
	e.last[which] = e.tab.id(l)
}

// intersectLabels returns the labels of have that l also carries, in
// have's order. It never modifies have (which may be shared through the
// intern table): when every label is kept it returns have itself (no
// allocation, the steady state), else a new slice.
func intersectLabels(have []string, l schema.List) []string {
	var out []string
	for i, h := range have {
		found := false
		l.Each(func(e string) bool { found = e == h; return !found })
		switch {
		case found && out != nil:
			out = append(out, h)
		case !found && out == nil:
			out = make([]string, i, len(have)-1)
			copy(out, have[:i])
		}
	}
	if out == nil {
		return have
	}
	return out
}

// dropCalicoLabels returns labels without projectcalico.org/ keys (a new
// slice when any is dropped, so the entry's own slice is untouched).
func dropCalicoLabels(labels []string) []string {
	if !slices.ContainsFunc(labels, isCalicoLabel) {
		return labels
	}
	out := make([]string, 0, len(labels))
	for _, l := range labels {
		if !isCalicoLabel(l) {
			out = append(out, l)
		}
	}
	return out
}

func isCalicoLabel(l string) bool { return strings.HasPrefix(l, calicoLabelPrefix) }

// unionStrings appends the elements of l missing from have, first come,
// until have holds limit elements. "-" placeholders are not added.
func unionStrings(have []string, l schema.List, limit int) []string {
	l.Each(func(e string) bool {
		if len(have) >= limit {
			return false
		}
		if e != schema.NotIncluded && !slices.Contains(have, e) {
			have = append(have, strings.Clone(e))
		}
		return true
	})
	return have
}

// replaceStrings sets have to the elements of l, reusing have's strings
// when equal (the common case) so it allocates nothing in steady state,
// else taking them from the intern table.
func replaceStrings(have []string, l schema.List, tab *internTable) []string {
	n, same := 0, true
	l.Each(func(e string) bool {
		same = same && n < len(have) && have[n] == e
		n++
		return true
	})
	if same && n == len(have) {
		return have
	}
	return tab.List(l)
}

// smallestPorts keeps the maxNATPorts smallest distinct ports, sorted.
func smallestPorts(have []int64, l schema.List) []int64 {
	l.Each(func(e string) bool {
		p, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return true
		}
		i, found := slices.BinarySearch(have, p)
		if found || i >= maxNATPorts {
			return true
		}
		if len(have) < maxNATPorts {
			have = slices.Insert(have, i, p)
		} else {
			copy(have[i+1:], have[i:len(have)-1])
			have[i] = p
		}
		return true
	})
	return have
}

// unionPolicies merges the four policy arrays as capped sets, kept in
// trace order (group_by_policy: false). A line's array byte-identical to
// the last one merged into that array adds nothing and is skipped.
func (e *flowEntry) unionPolicies(f *schema.Flow) {
	if f.PoliciesNull {
		return
	}
	d := &e.doc
	if d.PoliciesNull {
		d.PoliciesNull = false
	}
	for _, p := range [...]struct {
		dst   *[]string
		src   schema.List
		which int
	}{
		{&d.AllPolicies, f.Policies.All, lastAllPolicies},
		{&d.EnforcedPolicies, f.Policies.Enforced, lastEnforcedPolicies},
		{&d.PendingPolicies, f.Policies.Pending, lastPendingPolicies},
		{&d.TransitPolicies, f.Policies.Transit, lastTransitPolicies},
	} {
		if p.src.Raw == "" || e.tab.same(e.last[p.which], p.src) {
			continue
		}
		n := len(*p.dst)
		*p.dst = unionStrings(*p.dst, p.src, MaxPolicies)
		if len(*p.dst) != n {
			// unionStrings appended, so *p.dst is no longer the shared
			// slice (its cap was its length): sorting it is private.
			slices.SortFunc(*p.dst, comparePolicy)
		}
		e.last[p.which] = e.tab.id(p.src)
	}
}
