package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// runChart re-renders the chart of a results JSON file:
// fsbench chart results/<date>.json results/<date>.png
func runChart(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: fsbench chart RESULTS.json OUT.png")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	return renderChart(&r, args[1])
}

var chartColors = []color.Color{
	color.RGBA{R: 0x4c, G: 0x72, B: 0xb0, A: 0xff},
	color.RGBA{R: 0xdd, G: 0x84, B: 0x52, A: 0xff},
	color.RGBA{R: 0x55, G: 0xa8, B: 0x68, A: 0xff},
}

// renderChart draws three panels: lines per CPU-second and lines per
// second of the node agents, and the Elasticsearch store per level and
// window.
func renderChart(r *report, path string) error {
	var plots []*plot.Plot
	// One bar per program and workload: "floor on", "flowship off", …
	type bar struct {
		name string
		runs []runResult
	}
	var bars []bar
	for _, wl := range r.Workloads {
		for _, n := range []string{"floor", "flowship", "flowship-chart", "rsyslog"} {
			if len(wl.Collectors[n]) > 0 {
				bars = append(bars, bar{n + " " + wl.Name, wl.Collectors[n]})
			}
		}
	}
	if len(bars) > 0 {
		names := make([]string, len(bars))
		runs := map[string][]runResult{}
		for i, b := range bars {
			names[i], runs[b.name] = b.name, b.runs
		}
		cpu, err := barPlot("lines per CPU-second (median)", names, func(n string) float64 { return medianOf(runs[n], runResult.perCPUSecond) })
		if err != nil {
			return err
		}
		wall, err := barPlot("lines per second, wall (median)", names, func(n string) float64 { return medianOf(runs[n], runResult.perSecond) })
		if err != nil {
			return err
		}
		plots = append(plots, cpu, wall)
	}
	if len(r.Reduction) > 0 {
		p, err := storePlot(r.Reduction)
		if err != nil {
			return err
		}
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return errors.New("nothing measured")
	}
	img := vgimg.New(vg.Length(len(plots))*5*vg.Inch, 4*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return err
	}
	return f.Close()
}

func barPlot(title string, names []string, value func(string) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Min = 0
	for i, n := range names {
		bars, err := plotter.NewBarChart(plotter.Values{value(n)}, vg.Points(40))
		if err != nil {
			return nil, err
		}
		bars.Color = chartColors[i%3%len(chartColors)]
		bars.XMin = float64(i)
		p.Add(bars)
	}
	p.NominalX(names...)
	headroom(p)
	return p, nil
}

// headroom leaves a tenth of the height above the tallest bar.
func headroom(p *plot.Plot) {
	p.Y.Max *= 1.1
}

// storePlot groups the store size (MiB) by level, one bar per window.
func storePlot(rows []reductionRow) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Elasticsearch store, MiB (flow docs)"
	p.X.Label.Text = "aggregation level"
	p.Y.Min = 0
	var levels []int
	seen := map[int]bool{}
	for _, x := range rows {
		if !seen[x.Level] {
			seen[x.Level] = true
			levels = append(levels, x.Level)
		}
	}
	for wi, w := range reductionWindows {
		vals := make(plotter.Values, len(levels))
		found := false
		for li, l := range levels {
			for _, x := range rows {
				if x.Level == l && x.Window == w.label {
					vals[li], found = float64(x.StoreBytes)/(1<<20), true
				}
			}
		}
		if !found {
			continue
		}
		bars, err := plotter.NewBarChart(vals, vg.Points(14))
		if err != nil {
			return nil, err
		}
		bars.Color = chartColors[wi%len(chartColors)]
		bars.Offset = vg.Points(float64(wi-1) * 14)
		p.Add(bars)
		p.Legend.Add("window "+w.label, bars)
	}
	p.Legend.Top = true
	names := make([]string, len(levels))
	for i, l := range levels {
		names[i] = fmt.Sprint(l)
	}
	p.NominalX(names...)
	headroom(p)
	return p, nil
}
