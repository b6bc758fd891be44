package synth

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// Generator produces the lines Felix would write for a simulated cluster,
// window by window. The same Config gives byte-identical output; each
// kind draws from its own random stream, so the flows do not change when
// L7 or DNS lines are generated too. A Generator is not safe for
// concurrent use.
type Generator struct {
	cfg   Config
	topo  *topology
	convs []*conversation
	web   []*conversation // allowed HTTP conversations through a Service

	rFlow, rL7, rDNS, rWin *rand.Rand

	next  int       // index of the next window
	start time.Time // start of the next window

	buf bytes.Buffer
	enc *json.Encoder
}

// New builds the simulated cluster of cfg. cfg should pass Validate;
// out-of-range values are clamped so New never fails.
func New(cfg Config) *Generator {
	cfg.Nodes = min(max(cfg.Nodes, 1), 250)
	cfg.Workloads = max(cfg.Workloads, 2)
	cfg.Namespaces = max(cfg.Namespaces, 1)
	cfg.MaxPodsPerWorkload = max(cfg.MaxPodsPerWorkload, 1)
	cfg.Level = min(max(cfg.Level, 0), 3)
	if cfg.Window < time.Second {
		cfg.Window = time.Second
	}
	stream := func(n uint64) *rand.Rand { return rand.New(rand.NewPCG(cfg.Seed, n)) }
	g := &Generator{cfg: cfg, rFlow: stream(2), rL7: stream(3), rDNS: stream(4), rWin: stream(5), start: cfg.Start.UTC()}
	topo := stream(1)
	g.topo = newTopology(cfg, topo)
	g.convs = newConversations(cfg, g.topo, topo)
	for _, c := range g.convs {
		if c.web && !c.denied {
			g.web = append(g.web, c)
		}
	}
	g.enc = json.NewEncoder(&g.buf)
	return g
}

// Window is one flush window: every line of each kind, each ending in a
// newline, in the order Felix would write them.
type Window struct {
	Index      int
	Start, End time.Time
	Flows      [][]byte
	L7         [][]byte
	DNS        [][]byte
}

// Next generates the next window with the lines of every kind in kinds
// (all kinds when kinds is empty).
func (g *Generator) Next(kinds ...pipeline.Kind) Window {
	want := func(k pipeline.Kind) bool {
		if len(kinds) == 0 {
			return true
		}
		for _, x := range kinds {
			if x == k {
				return true
			}
		}
		return false
	}
	w := Window{Index: g.next, Start: g.start}
	length := g.cfg.Window
	if g.cfg.Jitter {
		tenth := int64(g.cfg.Window / 10)
		length += time.Duration(g.rWin.Int64N(2*tenth+1) - tenth)
	}
	w.End = w.Start.Add(length)
	g.next++
	g.start = w.End
	s, e := w.Start.Unix(), w.End.Unix()
	// Every kind's stream is advanced whether or not it is wanted, so a
	// kind's lines do not depend on which other kinds are asked for.
	flows, l7s, dnss := g.flowWindow(s, e), g.l7Window(s, e), g.dnsWindow(w.Start, w.End)
	if want(pipeline.KindFlow) {
		w.Flows = encodeAll(g, flows)
	}
	if want(pipeline.KindL7) {
		w.L7 = encodeAll(g, l7s)
	}
	if want(pipeline.KindDNS) {
		w.DNS = encodeAll(g, dnss)
	}
	return w
}

func encodeAll[T any](g *Generator, items []*T) [][]byte {
	out := make([][]byte, len(items))
	for i, it := range items {
		g.buf.Reset()
		_ = g.enc.Encode(it) // plain structs of strings and numbers: cannot fail
		out[i] = bytes.Clone(g.buf.Bytes())
	}
	return out
}

// Lines returns the lines of kind in w.
func (w Window) Lines(kind pipeline.Kind) [][]byte {
	switch kind {
	case pipeline.KindL7:
		return w.L7
	case pipeline.KindDNS:
		return w.DNS
	}
	return w.Flows
}

// WriteFlows writes n flows.log lines to w, window after window, and
// returns the bytes written.
func (g *Generator) WriteFlows(w io.Writer, n int) (int64, error) {
	return g.write(w, pipeline.KindFlow, n)
}

// WriteL7 writes n l7.log lines to w.
func (g *Generator) WriteL7(w io.Writer, n int) (int64, error) { return g.write(w, pipeline.KindL7, n) }

// WriteDNS writes n dns.log lines to w.
func (g *Generator) WriteDNS(w io.Writer, n int) (int64, error) {
	return g.write(w, pipeline.KindDNS, n)
}

func (g *Generator) write(w io.Writer, kind pipeline.Kind, n int) (int64, error) {
	var total int64
	for empty := 0; n > 0 && empty < 3; {
		lines := g.Next(kind).Lines(kind)
		if len(lines) == 0 {
			empty++ // this kind has nothing to generate (e.g. no HTTP services)
			continue
		}
		for _, l := range lines[:min(n, len(lines))] {
			k, err := w.Write(l)
			total += int64(k)
			if err != nil {
				return total, err
			}
		}
		n -= min(n, len(lines))
	}
	return total, nil
}
