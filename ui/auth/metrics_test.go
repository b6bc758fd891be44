package auth

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/flowship/flowship/pipeline"
)

// TestMetricsCountSignInsAndRefusals: every sign-in outcome and every
// refused request is counted with its reason.
func TestMetricsCountSignInsAndRefusals(t *testing.T) {
	var calls atomic.Int64
	es := fakeES(t, &calls)
	reader := sdkmetric.NewManualReader()
	tel := pipeline.NopTelemetry()
	tel.Meter = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test")
	clk := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	a, err := New(esModeConfig(), Options{Listen: ":9090", Elasticsearch: ESEndpoint{URL: es.URL}, Now: clk.now}, tel)
	if err != nil {
		t.Fatal(err)
	}
	srv := testServer(t, a)
	s := signIn(t, srv.URL, `{"username":"alice","password":"right-password"}`)
	for range 3 {
		do(t, "POST", srv.URL+"/auth/signin", `{"username":"alice","password":"nope-nope"}`, nil)
	}
	do(t, "POST", srv.URL+"/auth/signin", `{"username":"alice","password":"right-password"}`, nil) // limited
	do(t, "GET", srv.URL+"/api/data", "", nil)
	do(t, "POST", srv.URL+"/api/save", "{}", nil, s.session)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				for _, kv := range dp.Attributes.ToSlice() {
					if kv.Key == attribute.Key("result") || kv.Key == attribute.Key("reason") {
						got[m.Name+"/"+kv.Value.AsString()] = dp.Value
					}
				}
			}
		}
	}
	want := map[string]int64{
		"flowship_ui_signins_total/ok": 1, "flowship_ui_signins_total/failed": 3, "flowship_ui_signins_total/limited": 1,
		"flowship_ui_requests_denied_total/no_session": 1, "flowship_ui_requests_denied_total/csrf": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}
