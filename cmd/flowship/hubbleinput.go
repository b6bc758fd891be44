package main

import (
	"errors"
	"fmt"

	"github.com/flowship/flowship/aggregator"
	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/filetail"
	"github.com/flowship/flowship/pipeline/hubble"
)

// HubbleInput is inputs.hubble: Cilium's Hubble exporter files, read by
// two tailers over the same files (one keeps the flow events as flows
// documents, one the l7.http requests as L7 documents), each with its own
// positions file. It feeds the flows (and l7) streams, so it excludes
// inputs.flows (and inputs.l7 when L7 is on). The inline tailer keys
// (paths, start_at, max_line_size, batch_*, positions_file, …) are those of
// the other inputs; kind is ignored.
type HubbleInput struct {
	// Enabled turns the Hubble input on. Default false.
	Enabled bool `yaml:"enabled"`
	// L7 also reads l7.http flows into L7 documents. Default true.
	L7 bool `yaml:"l7"`
	// L7PositionsFile is the L7 tailer's positions file. Default
	// /var/log/calico/flowship/hubble-l7.positions.json.
	L7PositionsFile string `yaml:"l7_positions_file"`
	// The flows tailer: paths default to /var/run/cilium/hubble/events.log
	// and events-*.log (the exporter's lumberjack backups), positions_file
	// to /var/log/calico/flowship/hubble-flows.positions.json.
	filetail.Config `yaml:",inline"`
}

// Default locations of the Hubble exporter file (Cilium's Helm default
// hubble.export.static.filePath) and of the input's positions files.
const (
	hubbleDefaultFile = "/var/run/cilium/hubble/events.log"
	hubbleDefaultGlob = "/var/run/cilium/hubble/events-*.log"
)

func defaultHubbleInput() HubbleInput {
	c := filetail.DefaultConfig()
	c.Paths = []string{hubbleDefaultFile, hubbleDefaultGlob}
	c.PositionsFile = filetail.DefaultDir + "/flowship/hubble-flows.positions.json"
	return HubbleInput{L7: true, L7PositionsFile: filetail.DefaultDir + "/flowship/hubble-l7.positions.json", Config: c}
}

// tailers returns the tailer configs of the enabled Hubble input: flows,
// then l7 when L7 is on.
func (h HubbleInput) tailers() []filetail.Config {
	if !h.Enabled {
		return nil
	}
	f := h.Config
	f.Kind = pipeline.KindFlow
	out := []filetail.Config{f}
	if h.L7 {
		l := h.Config
		l.Kind, l.PositionsFile = pipeline.KindL7, h.L7PositionsFile
		l.FluentdPosFile, l.ImportFluentdPos = "", ""
		out = append(out, l)
	}
	return out
}

// validateHubble checks inputs.hubble and that it shares no stream with
// the Felix inputs.
func (in Inputs) validateHubble() error {
	h := in.Hubble
	if !h.Enabled {
		return nil
	}
	var errs []error
	if in.Flows.Enabled {
		errs = append(errs, errors.New("inputs.hubble and inputs.flows both feed the flows documents; set inputs.flows.enabled: false on a Cilium cluster"))
	}
	if h.L7 && in.L7.Enabled {
		errs = append(errs, errors.New("inputs.hubble.l7 and inputs.l7 both feed the L7 documents; set inputs.l7.enabled: false (or inputs.hubble.l7: false)"))
	}
	for _, c := range h.tailers() {
		if err := c.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("inputs.hubble (%s): %w", c.Kind, err))
		}
	}
	if h.L7 && h.L7PositionsFile == h.PositionsFile {
		errs = append(errs, fmt.Errorf("inputs.hubble.l7_positions_file must differ from positions_file %q", h.PositionsFile))
	}
	return errors.Join(errs...)
}

// hubbleTailers builds the Hubble input's tailers, each behind its
// converter, restoring and wiring the aggregator's state like the Felix
// inputs.
func hubbleTailers(h HubbleInput, tel pipeline.Telemetry, agg *aggregator.Aggregator) ([]*filetail.Tailer, error) {
	var out []*filetail.Tailer
	for i, c := range h.tailers() {
		conv, err := hubble.New(c.Kind, i == 0, tel, agg)
		if err != nil {
			return nil, err
		}
		t, err := filetail.New(c, tel, conv)
		if err != nil {
			return nil, fmt.Errorf("inputs.hubble (%s): %w", c.Kind, err)
		}
		if err := agg.Restore(c.Kind, t.State()); err != nil {
			return nil, fmt.Errorf("inputs.hubble (%s): restoring aggregation state from %s: %w", c.Kind, c.PositionsFile, err)
		}
		agg.OnState(c.Kind, t.SetState)
		out = append(out, t)
	}
	return out, nil
}
