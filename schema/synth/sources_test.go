package synth

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/schema"
)

func TestWriteHubbleAndGoldmane(t *testing.T) {
	start := time.Date(2025, 6, 10, 8, 0, 0, 0, time.UTC)
	var a, b bytes.Buffer
	if err := WriteHubble(&a, 7, start, 500); err != nil {
		t.Fatal(err)
	}
	if err := WriteHubble(&b, 7, start, 500); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("same seed, different Hubble output")
	}
	kinds := map[schema.HubbleEvent]int{}
	for i, l := range strings.Split(strings.TrimSpace(a.String()), "\n") {
		_, ev, err := schema.ParseHubble([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		kinds[ev]++
	}
	if kinds[schema.HubbleFlowEvent] == 0 || kinds[schema.HubbleL7] == 0 || kinds[schema.HubbleLost] == 0 {
		t.Errorf("event mix %v lacks a kind", kinds)
	}
	a.Reset()
	b.Reset()
	if err := WriteGoldmane(&a, 7, start, 3, 40); err != nil {
		t.Fatal(err)
	}
	if err := WriteGoldmane(&b, 7, start, 3, 40); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("same seed, different Goldmane output")
	}
	lines := strings.Split(strings.TrimSpace(a.String()), "\n")
	if len(lines) != 120 {
		t.Fatalf("%d Goldmane lines, want 3 windows x 40", len(lines))
	}
	for i, l := range lines {
		if _, err := schema.ParseGoldmane([]byte(l)); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
}
