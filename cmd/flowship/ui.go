package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/flowship/flowship/pipeline/telemetry"
	"github.com/flowship/flowship/ui"
)

// runUI serves the web UI and its API over the indices that index.elasticsearch
// names, until interrupted.
func runUI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ui", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (YAML); sections telemetry, index.elasticsearch and ui")
	listen := fs.String("listen", "", "listen address (overrides ui.listen)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := readConfigOver(uiDefaults(), *configPath, sectionsFor["ui"]...)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.UI.Listen = *listen
		if err := cfg.UI.Validate(); err != nil {
			return usageError{err.Error()}
		}
	}
	return serveUI(ctx, cfg, stdout, stderr)
}

// UITelemetryListen is the ui's default telemetry.listen: not the other
// subcommands' :9464, so an indexer and a ui on one host do not clash.
const UITelemetryListen = ":9465"

// uiDefaults is DefaultConfig with the ui's own telemetry port.
func uiDefaults() Config {
	c := DefaultConfig()
	c.Telemetry.Listen = UITelemetryListen
	return c
}

// serveUI starts the UI on cfg.UI.Listen, prints its URL and serves until
// ctx ends, with the telemetry endpoint (/metrics, /healthz, /readyz) of
// cfg.Telemetry beside it. The demo calls it too.
func serveUI(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	prov, err := telemetry.New(cfg.Telemetry, "ui", stderr)
	if err != nil {
		return err
	}
	// The authenticator (ui.auth) and the Elasticsearch client it wraps.
	srv, err := ui.Open(cfg.UI, cfg.Index.Elasticsearch, prov.Telemetry())
	if err != nil {
		return err
	}
	// /readyz: the Elasticsearch cluster the ui queries (and, in
	// elasticsearch mode, verifies sign-ins against) answers.
	prov.AddReadyCheck("elasticsearch", cachedCheck(5*time.Second, srv.ReadyCheck()))
	ln, err := net.Listen("tcp", cfg.UI.Listen)
	if err != nil {
		return fmt.Errorf("ui.listen %s: %w", cfg.UI.Listen, err)
	}
	fmt.Fprintf(stdout, "flowship ui: serving %s (Ctrl-C stops it)\n", srv.URL(ln))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return prov.Run(gctx) })
	g.Go(func() error { return srv.Serve(gctx, ln) })
	return g.Wait()
}
