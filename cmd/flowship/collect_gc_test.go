package main

import (
	"runtime/debug"
	"testing"
)

func TestSetCollectGC(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantChanged bool
	}{
		{"GOGC unset: the collector's target", map[string]string{}, true},
		{"GOGC set: the runtime already follows it", map[string]string{"GOGC": "100"}, false},
		{"GOGC=off is respected too", map[string]string{"GOGC": "off"}, false},
		{"GOMEMLIMIT alone does not stop it", map[string]string{"GOMEMLIMIT": "512MiB"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const before = 137
			old := debug.SetGCPercent(before)
			defer debug.SetGCPercent(old)
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			if got := setCollectGC(lookup); got != tc.wantChanged {
				t.Fatalf("setCollectGC = %v, want %v", got, tc.wantChanged)
			}
			want := before
			if tc.wantChanged {
				want = collectGOGC
			}
			if now := debug.SetGCPercent(before); now != want {
				t.Errorf("GC percent %d, want %d", now, want)
			}
		})
	}
}
