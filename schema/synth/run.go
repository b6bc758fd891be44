package synth

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/flowship/flowship/pipeline"
)

// Stats counts what Run or Stream wrote.
type Stats struct {
	Windows   int
	Lines     map[pipeline.Kind]int64
	Bytes     map[pipeline.Kind]int64
	Rotations map[pipeline.Kind]int
}

// kindFiles maps a kind to Felix's directory and file base name (§1.1).
var kindFiles = map[pipeline.Kind][2]string{
	pipeline.KindFlow: {"flowlogs", "flows"},
	pipeline.KindL7:   {"l7logs", "l7"},
	pipeline.KindDNS:  {"dnslogs", "dns"},
}

type flusher interface {
	io.Writer
	Flush() error
}

func (g *Generator) kinds() []pipeline.Kind {
	if len(g.cfg.Kinds) == 0 {
		return pipeline.Kinds
	}
	return g.cfg.Kinds
}

// Run writes the windows into dir the way Felix does: dir/flowlogs/flows.log,
// dir/l7logs/l7.log and dir/dnslogs/dns.log, one burst per window, with
// lumberjack-style rotation at RotateSize. It stops after Windows windows,
// once every kind has MaxLines lines, or when ctx ends (then it returns
// ctx.Err() with the stats so far).
func (g *Generator) Run(ctx context.Context, dir string) (Stats, error) {
	outs := map[pipeline.Kind]flusher{}
	rots := map[pipeline.Kind]*rotator{}
	for _, k := range g.kinds() {
		f := kindFiles[k]
		rot := &rotator{dir: filepath.Join(dir, f[0]), base: f[1], maxSize: int64(g.cfg.RotateSize), maxBackups: g.cfg.MaxBackups}
		rots[k] = rot
		if g.cfg.SplitChunks {
			outs[k] = bufio.NewWriterSize(rot, 64<<10)
		} else {
			outs[k] = &lineBuffer{w: rot, size: 64 << 10}
		}
	}
	st, err := g.emit(ctx, func(k pipeline.Kind, w Window) flusher {
		rots[k].now = w.End
		return outs[k]
	})
	for k, r := range rots {
		st.Rotations[k] = r.rotations
		if cerr := r.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", r.live(), cerr)
		}
	}
	return st, err
}

// Stream writes the windows to w (for example stdout), kinds interleaved
// window by window, with the same stopping rules as Run.
func (g *Generator) Stream(ctx context.Context, w io.Writer) (Stats, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	return g.emit(ctx, func(pipeline.Kind, Window) flusher { return bw })
}

// emit drives the windows and pacing for Run and Stream.
func (g *Generator) emit(ctx context.Context, out func(pipeline.Kind, Window) flusher) (Stats, error) {
	st := Stats{Lines: map[pipeline.Kind]int64{}, Bytes: map[pipeline.Kind]int64{}, Rotations: map[pipeline.Kind]int{}}
	p := pacer{rate: g.cfg.Rate, start: time.Now()}
	kinds := g.kinds()
	done := func() bool {
		if g.cfg.MaxLines == 0 {
			return false
		}
		for _, k := range kinds {
			if st.Lines[k] < int64(g.cfg.MaxLines) {
				return false
			}
		}
		return true
	}
	for g.cfg.Windows == 0 || st.Windows < g.cfg.Windows {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if done() {
			break
		}
		win := g.Next(kinds...)
		st.Windows++
		for _, k := range kinds {
			w := out(k, win)
			for _, l := range win.Lines(k) {
				if g.cfg.MaxLines > 0 && st.Lines[k] >= int64(g.cfg.MaxLines) {
					break
				}
				if _, err := w.Write(l); err != nil {
					return st, fmt.Errorf("write %s lines: %w", k, err)
				}
				st.Lines[k]++
				st.Bytes[k] += int64(len(l))
				if err := p.wait(ctx, w); err != nil {
					return st, err
				}
			}
			if err := w.Flush(); err != nil {
				return st, fmt.Errorf("write %s lines: %w", k, err)
			}
		}
	}
	return st, nil
}

// pacer holds the line rate: every 64 lines it flushes and sleeps until
// the lines written so far are due.
type pacer struct {
	rate  float64
	start time.Time
	n     int64
}

func (p *pacer) wait(ctx context.Context, w flusher) error {
	if p.rate <= 0 {
		return nil
	}
	p.n++
	if p.n%64 != 0 {
		return nil
	}
	if err := w.Flush(); err != nil {
		return err
	}
	due := p.start.Add(time.Duration(float64(p.n) / p.rate * float64(time.Second)))
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
