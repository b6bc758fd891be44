package pipeline

import (
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Telemetry is handed to every stage constructor. Metrics are named
// flowship_<stage>_<what>_<unit>; spans are per batch, never per line.
type Telemetry struct {
	Logger *slog.Logger
	Meter  metric.Meter
	Tracer trace.Tracer
}

// NopTelemetry discards logs, metrics and spans; for tests.
func NopTelemetry() Telemetry {
	return Telemetry{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Meter:  metricnoop.NewMeterProvider().Meter("flowship"),
		Tracer: tracenoop.NewTracerProvider().Tracer("flowship"),
	}
}
