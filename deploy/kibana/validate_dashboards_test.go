package kibana

import (
	"fmt"
	"testing"
)

// dashboardPanel is one entry of panelsJSON.
type dashboardPanel struct {
	Version  string `json:"version"`
	Type     string `json:"type"`
	GridData struct {
		X, Y, W, H int
		I          string `json:"i"`
	} `json:"gridData"`
	PanelIndex       string         `json:"panelIndex"`
	PanelRefName     string         `json:"panelRefName"`
	EmbeddableConfig map[string]any `json:"embeddableConfig"`
}

func TestDashboards(t *testing.T) {
	objs := loadObjects(t)
	types := map[string]string{}
	for _, o := range objs {
		types[o.ID] = o.Type
	}
	used := map[string]bool{}
	for _, o := range objs {
		if o.Type != "dashboard" {
			continue
		}
		t.Run(o.ID, func(t *testing.T) {
			var panels []dashboardPanel
			jsonAttr(t, o, "panelsJSON", &panels)
			if len(panels) == 0 {
				t.Fatal("no panels")
			}
			refs := map[string]reference{}
			for _, r := range o.References {
				refs[r.Name] = r
			}
			for _, p := range panels {
				if err := checkPanel(t, p, refs, types); err != nil {
					t.Errorf("panel %s: %v", p.PanelIndex, err)
					continue
				}
				used[refs[p.PanelIndex+":"+p.PanelRefName].ID] = true
			}
			if len(refs) != len(panels) {
				t.Errorf("%d references for %d panels: every reference must belong to a panel", len(refs), len(panels))
			}
			checkLayout(t, panels)
			var opts map[string]any
			jsonAttr(t, o, "optionsJSON", &opts)
		})
	}
	for id, typ := range types {
		if typ == "visualization" && !used[id] {
			t.Errorf("visualization %s is on no dashboard", id)
		}
	}
}

// checkPanel checks one by-reference panel the way Kibana resolves it:
// the reference named "<panelIndex>:<panelRefName>" gives the saved
// object, which must exist with the panel's type.
func checkPanel(t *testing.T, p dashboardPanel, refs map[string]reference, types map[string]string) error {
	if p.PanelIndex == "" || p.GridData.I != p.PanelIndex {
		return fmt.Errorf("panelIndex %q and gridData.i %q must be equal and set", p.PanelIndex, p.GridData.I)
	}
	if !versionLE(t, "7.3.0", p.Version) {
		return fmt.Errorf("version %q < 7.3.0 sends Kibana down its pre-7.3 panel conversion", p.Version)
	}
	r, ok := refs[p.PanelIndex+":"+p.PanelRefName]
	if !ok || p.PanelRefName == "" {
		return fmt.Errorf("no reference named %q", p.PanelIndex+":"+p.PanelRefName)
	}
	if p.Type != "visualization" || r.Type != p.Type || types[r.ID] != p.Type {
		return fmt.Errorf("panel type %q, reference type %q, object %q of type %q: must all be visualization", p.Type, r.Type, r.ID, types[r.ID])
	}
	return nil
}

// checkLayout checks the 48-column grid: panels inside it, not
// overlapping, panel indexes unique.
func checkLayout(t *testing.T, panels []dashboardPanel) {
	t.Helper()
	cells := map[[2]int]string{}
	indexes := map[string]bool{}
	for _, p := range panels {
		if indexes[p.PanelIndex] {
			t.Errorf("panelIndex %q repeated", p.PanelIndex)
		}
		indexes[p.PanelIndex] = true
		g := p.GridData
		if g.X < 0 || g.Y < 0 || g.W < 1 || g.H < 1 || g.X+g.W > 48 {
			t.Errorf("panel %s: grid %+v outside the 48-column grid", p.PanelIndex, g)
			continue
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, taken := cells[[2]int{x, y}]; taken {
					t.Errorf("panel %s overlaps panel %s at (%d,%d)", p.PanelIndex, other, x, y)
					return
				}
				cells[[2]int{x, y}] = p.PanelIndex
			}
		}
	}
}
