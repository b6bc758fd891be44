package synth

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// l7Line is one l7.log line, keys in Felix's order (spec §4.5), at the
// default knobs: header info excluded (user_agent and type "-"), source
// port dropped, URL with the query stripped and at most 5 path segments.
type l7Line struct {
	StartTime           int64  `json:"start_time"`
	EndTime             int64  `json:"end_time"`
	DurationMean        int64  `json:"duration_mean"`
	DurationMax         int64  `json:"duration_max"`
	Latency             int64  `json:"latency"`
	BytesIn             int64  `json:"bytes_in"`
	BytesOut            int64  `json:"bytes_out"`
	Count               int64  `json:"count"`
	SrcNameAggr         string `json:"src_name_aggr"`
	SrcNamespace        string `json:"src_namespace"`
	SrcType             string `json:"src_type"`
	SourcePortNum       int64  `json:"source_port_num"`
	DestNameAggr        string `json:"dest_name_aggr"`
	DestNamespace       string `json:"dest_namespace"`
	DestType            string `json:"dest_type"`
	DestPortNum         int64  `json:"dest_port_num"`
	DestServiceName     string `json:"dest_service_name"`
	DestServiceNS       string `json:"dest_service_namespace"`
	DestServicePortName string `json:"dest_service_port_name"`
	DestServicePort     int64  `json:"dest_service_port"`
	Method              string `json:"method"`
	UserAgent           string `json:"user_agent"`
	URL                 string `json:"url"`
	ResponseCode        string `json:"response_code"`
	Type                string `json:"type"`
}

var (
	methods   = []string{"GET", "GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH"}
	codes     = []string{"200", "200", "200", "200", "200", "200", "200", "200", "200", "201", "204", "304", "400", "401", "403", "404", "404", "429", "500", "502", "503"}
	resources = []string{"carts", "items", "orders", "users", "products", "payments", "sessions", "reviews", "invoices", "images"}
)

// l7Window returns the l7.log lines of one window, merged per L7 key.
func (g *Generator) l7Window(start, end int64) []*l7Line {
	if len(g.web) == 0 {
		return nil
	}
	r := g.rL7
	lines := make([]*l7Line, 0, g.cfg.L7PerWindow)
	index := map[l7Line]int{}
	for range g.cfg.L7PerWindow {
		c := g.web[skewed(r, len(g.web))]
		l := g.request(c, start, end, r)
		k := *l
		k.DurationMean, k.DurationMax, k.Latency, k.BytesIn, k.BytesOut, k.Count = 0, 0, 0, 0, 0, 0
		if i, ok := index[k]; ok {
			m := lines[i]
			total := m.DurationMean*m.Count + l.DurationMean*l.Count
			m.Count += l.Count
			m.DurationMean = total / m.Count
			m.DurationMax = max(m.DurationMax, l.DurationMax)
			m.Latency += l.Latency
			m.BytesIn += l.BytesIn
			m.BytesOut += l.BytesOut
			continue
		}
		index[k] = len(lines)
		lines = append(lines, l)
	}
	return lines
}

func (g *Generator) request(c *conversation, start, end int64, r *rand.Rand) *l7Line {
	src := c.src.w.pods[r.IntN(len(c.src.w.pods))]
	dst := c.dst.w.pods[r.IntN(len(c.dst.w.pods))]
	count := heavy(r, 8)
	meanMs := 1 + heavy(r, 10)
	method := methods[r.IntN(len(methods))]
	l := &l7Line{
		StartTime: start, EndTime: end, Count: count,
		DurationMean: meanMs * 1e6, DurationMax: (meanMs + r.Int64N(3*meanMs+1)) * 1e6,
		Latency:     count * r.Int64N(3) * 1e6,
		BytesOut:    count * (200 + r.Int64N(8000)),
		SrcNameAggr: src.aggr, SrcNamespace: c.src.w.ns, SrcType: "wep",
		DestNameAggr: dst.aggr, DestNamespace: c.dst.w.ns, DestType: "wep", DestPortNum: int64(c.port),
		DestServiceName: c.svc.name, DestServiceNS: c.svc.ns, DestServicePortName: c.svc.portName,
		DestServicePort: int64(c.svc.port),
		Method:          method, UserAgent: "-", ResponseCode: codes[r.IntN(len(codes))], Type: "-",
	}
	if method != "GET" && method != "DELETE" {
		l.BytesIn = count * (100 + r.Int64N(2000))
	}
	domain := c.svc.name + "." + c.svc.ns + ".svc.cluster.local"
	if r.IntN(3) == 0 {
		domain = c.svc.name
	}
	l.URL = domain + urlPath(r)
	return l
}

// urlPath returns a path as Felix logs it at the default knobs: the query
// is stripped and only the first 5 segments are kept (§4.4).
func urlPath(r *rand.Rand) string {
	var b strings.Builder
	switch r.IntN(6) {
	case 0:
		return "/healthz"
	case 1:
		return "/metrics"
	}
	b.WriteString("/api/v")
	b.WriteString(strconv.Itoa(1 + r.IntN(2)))
	segs := 2 // "" and "api" count with "v1" as Felix splits "/api/v1/..." on "/"
	for segs < 5 {
		b.WriteByte('/')
		b.WriteString(resources[r.IntN(len(resources))])
		segs++
		if segs < 5 && r.IntN(2) == 0 {
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(1000 + r.IntN(90000)))
			segs++
		}
		if r.IntN(2) == 0 {
			break
		}
	}
	return b.String()
}
