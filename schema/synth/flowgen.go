package synth

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

func ptr[T any](v T) *T { return &v }

// skewed picks an index in [0, n) with a long tail: a few conversations
// carry most connections, as in real clusters.
func skewed(r *rand.Rand, n int) int {
	u := r.Float64()
	return min(n-1, int(float64(n)*u*u*u))
}

// heavy returns a heavy-tailed count ≥ 1 with median about m.
func heavy(r *rand.Rand, m float64) int64 {
	return 1 + int64(m*math.Exp(r.NormFloat64()*1.2)*0.5)
}

func (g *Generator) level(denied bool) int {
	if g.cfg.FelixDefaultLevels {
		if denied {
			return 1
		}
		return 2
	}
	return g.cfg.Level
}

// flowWindow returns the flows.log lines of one window: FlowsPerWindow
// connections, merged per aggregation key at the configured level.
func (g *Generator) flowWindow(start, end int64) []*flowLine {
	r := g.rFlow
	lines := make([]*flowLine, 0, g.cfg.FlowsPerWindow)
	index := map[string]int{}
	for range g.cfg.FlowsPerWindow {
		c := g.convs[skewed(r, len(g.convs))]
		f := g.connection(c, start, end, r)
		lvl := g.level(c.denied)
		if lvl == 0 {
			lines = append(lines, f)
			continue
		}
		mask(f, lvl)
		k := flowKey(f)
		if i, ok := index[k]; ok {
			mergeFlow(lines[i], f)
			continue
		}
		index[k] = len(lines)
		lines = append(lines, f)
	}
	return lines
}

// connection is one 5-tuple's level-0 line.
func (g *Generator) connection(c *conversation, start, end int64, r *rand.Rand) *flowLine {
	f := &flowLine{StartTime: start, EndTime: end, Proto: c.proto, Action: "allow",
		ProcessName: "-", ProcessID: "-", ProcessArgs: []string{"-"}}
	rep := 0
	switch {
	case c.src.w == nil:
		rep = 1
	case c.dst.w != nil:
		rep = r.IntN(2)
	}
	f.Reporter = [2]string{"src", "dst"}[rep]
	sp := g.fillEndpoint(c.src, r, &f.SourceIP, &f.SourceName, &f.SourceNameAggr, &f.SourceNamespace, &f.SourceType, &f.SourceLabels)
	g.fillEndpoint(c.dst, r, &f.DestIP, &f.DestName, &f.DestNameAggr, &f.DestNamespace, &f.DestType, &f.DestLabels)
	f.SourcePort, f.DestPort = ptr(32768+r.IntN(28000)), ptr(c.port)
	f.DestServiceNamespace, f.DestServiceName, f.DestServicePort = "-", "-", "-"
	if c.svc != nil && g.cfg.IncludeService {
		f.DestServiceNamespace, f.DestServiceName = c.svc.ns, c.svc.name
		if c.svc.portName != "" {
			f.DestServicePort = c.svc.portName
		}
		f.DestServicePortNum = ptr(c.svc.port)
	}
	if c.dst.ext != nil && c.dst.ext.domain != "" {
		f.DestDomains = []string{c.dst.ext.domain}
	}
	if g.cfg.IncludePolicies {
		p := *c.trace[rep]
		f.Policies = &p
	}
	if c.denied {
		f.Action = "deny"
	}
	g.counters(f, c, rep, r)
	if rep == 0 && sp != nil && r.IntN(3) == 0 {
		f.ProcessName, f.NumProcessNames = sp.w.process, 1
		f.ProcessID, f.NumProcessIDs = strconv.Itoa(1000+int(crc(sp.name)%30000)), 1
	}
	switch {
	case rep == 0 && c.dst.ext != nil && c.dst.ext.public && r.IntN(2) == 0:
		f.NATOutgoingPorts = []int{30000 + r.IntN(30000)}
	case r.IntN(4) == 0:
		f.NATOutgoingPorts = []int{} // Felix reuses its struct: [] and null both occur
	}
	return f
}

// fillEndpoint writes one side's identity and returns the pod, if any.
func (g *Generator) fillEndpoint(e endpoint, r *rand.Rand, ip **string, name, aggr, ns, typ *string, labels **labelSet) *pod {
	if e.w == nil {
		*ip, *name, *ns, *typ = ptr(e.ext.ip), "-", "-", "net"
		*aggr = "pvt"
		if e.ext.public {
			*aggr = "pub"
		}
		if g.cfg.IncludeLabels {
			*labels = &labelSet{Labels: []string{}}
		}
		return nil
	}
	p := e.w.pods[r.IntN(len(e.w.pods))]
	*ip, *name, *aggr, *ns, *typ = ptr(p.ip), p.name, p.aggr, e.w.ns, "wep"
	if g.cfg.IncludeLabels {
		*labels = &labelSet{Labels: append([]string(nil), p.labels()...)}
	}
	return p
}

func (g *Generator) counters(f *flowLine, c *conversation, rep int, r *rand.Rand) {
	f.NumFlows, f.NumFlowsStarted, f.NumFlowsCompleted = 1, 1, 1
	if c.denied {
		pk := 1 + r.Int64N(6)
		if rep == 0 {
			f.PacketsOut, f.BytesOut = pk, pk*60
		} else {
			f.PacketsIn, f.BytesIn = pk, pk*60
		}
		return
	}
	switch r.IntN(10) {
	case 0:
		f.NumFlowsStarted = 0 // began in an earlier window
	case 1:
		f.NumFlowsCompleted = 0 // still open at the flush
	}
	out, in := heavy(r, 20), heavy(r, 30)
	bout, bin := out*(64+r.Int64N(600)), in*(64+r.Int64N(1400))
	if rep == 1 { // counters are relative to the reporting endpoint (§2.6)
		out, in, bout, bin = in, out, bin, bout
	}
	f.PacketsOut, f.PacketsIn, f.BytesOut, f.BytesIn = out, in, bout, bin
}

// mask applies the Felix aggregation level to the key fields (§3.2).
func mask(f *flowLine, level int) {
	if level >= 1 {
		f.SourcePort = nil
	}
	if level >= 2 {
		f.SourceIP, f.DestIP, f.SourceName, f.DestName = nil, nil, "-", "-"
		f.NATOutgoingPorts = nil
	}
	if level >= 3 {
		f.DestPort, f.DestServicePort = nil, "-"
	}
}

// flowKey is the Felix aggregation key of a masked line.
func flowKey(f *flowLine) string {
	var b strings.Builder
	s := func(v string) { b.WriteString(v); b.WriteByte('|') }
	sp := func(v *string) {
		if v != nil {
			b.WriteString(*v)
		}
		b.WriteByte('|')
	}
	ip := func(v *int) {
		if v != nil {
			b.WriteString(strconv.Itoa(*v))
		}
		b.WriteByte('|')
	}
	s(f.Proto)
	sp(f.SourceIP)
	ip(f.SourcePort)
	sp(f.DestIP)
	ip(f.DestPort)
	for _, v := range []string{f.SourceType, f.SourceNamespace, f.SourceName, f.SourceNameAggr,
		f.DestType, f.DestNamespace, f.DestName, f.DestNameAggr,
		f.DestServiceNamespace, f.DestServiceName, f.DestServicePort, f.Action, f.Reporter} {
		s(v)
	}
	ip(f.DestServicePortNum)
	return b.String()
}

// crc is a small stable string hash (FNV-1a 32).
func crc(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}
