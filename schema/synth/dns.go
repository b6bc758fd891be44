package synth

import (
	"math/rand/v2"
	"strings"
	"time"
)

// dnsLine is one dns.log line, keys in Felix's order (spec §5), at the
// default aggregation kind 1 (client name and IP masked).
type dnsLine struct {
	StartTime       time.Time         `json:"start_time"`
	EndTime         time.Time         `json:"end_time"`
	Type            string            `json:"type"`
	Count           int64             `json:"count"`
	ClientName      string            `json:"client_name"`
	ClientNameAggr  string            `json:"client_name_aggr"`
	ClientNamespace string            `json:"client_namespace"`
	ClientIP        *string           `json:"client_ip"`
	ClientLabels    map[string]string `json:"client_labels"`
	Servers         []dnsServer       `json:"servers"`
	QName           string            `json:"qname"`
	QClass          string            `json:"qclass"`
	QType           string            `json:"qtype"`
	RCode           string            `json:"rcode"`
	RRSets          []dnsRRSet        `json:"rrsets"`
	Latency         dnsLatency        `json:"latency"`
	LatencyCount    int64             `json:"latency_count"`
	LatencyMean     int64             `json:"latency_mean"`
	LatencyMax      int64             `json:"latency_max"`
}

type dnsServer struct {
	Name      string            `json:"name"`
	NameAggr  string            `json:"name_aggr"`
	Namespace string            `json:"namespace"`
	IP        string            `json:"ip"`
	Labels    map[string]string `json:"labels"`
}

type dnsRRSet struct {
	Name  string   `json:"name"`
	Class string   `json:"class"`
	Type  string   `json:"type"`
	RData []string `json:"rdata"`
}

type dnsLatency struct {
	Count int64 `json:"count"`
	Mean  int64 `json:"mean"`
	Max   int64 `json:"max"`
}

func labelMap(ls []string) map[string]string {
	m := make(map[string]string, len(ls))
	for _, l := range ls {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

// dnsWindow returns the dns.log lines of one window.
func (g *Generator) dnsWindow(start, end time.Time) []*dnsLine {
	r := g.rDNS
	lines := make([]*dnsLine, 0, g.cfg.DNSPerWindow)
	type key struct{ client, ns, qname, qtype, server string }
	index := map[key]int{}
	for range g.cfg.DNSPerWindow {
		w := g.topo.workloads[1+skewed(r, len(g.topo.workloads)-1)]
		l := g.lookup(w, r)
		l.StartTime = start.Add(time.Duration(r.Int64N(int64(5 * time.Second))))
		l.EndTime = end.Add(-time.Duration(r.Int64N(int64(2 * time.Second))))
		k := key{l.ClientNameAggr, l.ClientNamespace, l.QName, l.QType, l.Servers[0].Name}
		if i, ok := index[k]; ok {
			m := lines[i]
			total := m.LatencyMean*m.LatencyCount + l.LatencyMean*l.LatencyCount
			m.Count += l.Count
			m.LatencyCount += l.LatencyCount
			m.LatencyMean = total / m.LatencyCount
			m.LatencyMax = max(m.LatencyMax, l.LatencyMax)
			m.Latency = dnsLatency{m.LatencyCount, m.LatencyMean, m.LatencyMax}
			continue
		}
		index[k] = len(lines)
		lines = append(lines, l)
	}
	return lines
}

func (g *Generator) lookup(w *workload, r *rand.Rand) *dnsLine {
	p := w.pods[r.IntN(len(w.pods))]
	srv := g.topo.dns.pods[r.IntN(len(g.topo.dns.pods))]
	count := heavy(r, 10)
	mean := 100_000 + r.Int64N(2_000_000)
	l := &dnsLine{
		Type: "log", Count: count, ClientName: "-", ClientNameAggr: p.aggr, ClientNamespace: w.ns,
		ClientLabels: labelMap(p.labels()),
		Servers: []dnsServer{{Name: srv.name, NameAggr: srv.aggr, Namespace: "kube-system", IP: srv.ip,
			Labels: map[string]string{"k8s-app": "kube-dns"}}},
		QClass: "IN", QType: "A", RCode: "NoError", RRSets: []dnsRRSet{},
		LatencyCount: count, LatencyMean: mean, LatencyMax: mean + r.Int64N(3*mean),
	}
	l.Latency = dnsLatency{l.LatencyCount, l.LatencyMean, l.LatencyMax}
	ext := g.topo.externals[r.IntN(len(g.topo.externals))]
	switch u := r.IntN(20); {
	case u < 9: // a Service in the cluster
		sw := g.topo.workloads[r.IntN(len(g.topo.workloads))]
		for sw.svc == nil {
			sw = g.topo.workloads[r.IntN(len(g.topo.workloads))]
		}
		l.QName = sw.svc.name + "." + sw.svc.ns + ".svc.cluster.local"
		l.RRSets = []dnsRRSet{{l.QName, "IN", "A", []string{sw.svc.clusterIP}}}
	case u < 14 && ext.domain != "": // the search path tried first
		l.QName, l.RCode = ext.domain+"."+w.ns+".svc.cluster.local", "NXDomain"
	case u < 19 && ext.domain != "":
		l.QName = ext.domain
		l.RRSets = []dnsRRSet{{l.QName, "IN", "A", []string{ext.ip}}}
	case ext.domain != "":
		l.QName, l.QType = ext.domain, "AAAA" // no IPv6 answer
	default:
		l.QName, l.RCode = "no-such-host."+w.ns+".svc.cluster.local", "NXDomain"
	}
	return l
}
