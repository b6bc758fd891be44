// Package telemetry builds the process-wide pipeline.Telemetry (slog JSON
// logs, OTel metrics exported for Prometheus) and serves /metrics,
// /healthz and /readyz.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/flowship/flowship/pipeline"
)

// Config is the telemetry section of a flowship config file.
type Config struct {
	// Listen is the address of the HTTP server for /metrics, /healthz and
	// /readyz; "" disables it. Default ":9464".
	Listen string `yaml:"listen"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// LogFormat is json or text. Default json.
	LogFormat string `yaml:"log_format"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{Listen: ":9464", LogLevel: "info", LogFormat: "json"}
}

// Validate checks c.
func (c Config) Validate() error {
	var errs []error
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("telemetry.log_format: %q is not json or text", c.LogFormat))
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("telemetry.listen: %q is not host:port: %w", c.Listen, err))
		}
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("telemetry.log_level: %q is not debug, info, warn or error", s)
	}
	return l, nil
}

// Provider owns the meter provider, the Prometheus registry and the
// readiness checks of one process.
type Provider struct {
	cfg      Config
	tel      pipeline.Telemetry
	mp       *sdkmetric.MeterProvider
	registry *prometheus.Registry

	mu     sync.Mutex
	checks map[string]func() error
}

// New builds a Provider that logs to logOut.
func New(cfg Config, service string, logOut io.Writer) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	level, _ := parseLevel(cfg.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(logOut, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(logOut, opts)
	}
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithoutTargetInfo(),
		otelprom.WithoutScopeInfo(),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	p := &Provider{
		cfg:      cfg,
		mp:       mp,
		registry: reg,
		checks:   map[string]func() error{},
	}
	p.tel = pipeline.Telemetry{
		Logger: slog.New(h).With("service", service),
		Meter:  mp.Meter("flowship"),
		Tracer: tracenoop.NewTracerProvider().Tracer("flowship"),
	}
	return p, nil
}

// Telemetry returns the handle to pass to stage constructors.
func (p *Provider) Telemetry() pipeline.Telemetry { return p.tel }

// AddReadyCheck registers a readiness check; /readyz fails while any
// check returns an error.
func (p *Provider) AddReadyCheck(name string, check func() error) {
	p.mu.Lock()
	p.checks[name] = check
	p.mu.Unlock()
}

// Ready runs every readiness check and returns the joined failures.
func (p *Provider) Ready() error {
	p.mu.Lock()
	names := make([]string, 0, len(p.checks))
	for n := range p.checks {
		names = append(names, n)
	}
	checks := p.checks
	p.mu.Unlock()
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		if err := checks[n](); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// Handler serves /metrics, /healthz and /readyz.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(p.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := p.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, strings.ReplaceAll(err.Error(), "\n", "; ")+"\n")
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	return mux
}

// Run serves the HTTP endpoints until ctx ends, then shuts the server and
// the meter provider down. With Listen == "" it only waits for ctx.
func (p *Provider) Run(ctx context.Context) error {
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.mp.Shutdown(sctx)
	}()
	if p.cfg.Listen == "" {
		<-ctx.Done()
		return nil
	}
	ln, err := net.Listen("tcp", p.cfg.Listen)
	if err != nil {
		return fmt.Errorf("telemetry: listen on %s (telemetry.listen): %w", p.cfg.Listen, err)
	}
	p.tel.Logger.Info("telemetry endpoint listening", "addr", ln.Addr().String())
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-errc
		return nil
	case err := <-errc:
		return fmt.Errorf("telemetry: serve: %w", err)
	}
}
