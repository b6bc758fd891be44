package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	goes "github.com/elastic/go-elasticsearch/v8"
	"golang.org/x/sync/errgroup"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/telemetry"
	"github.com/flowship/flowship/retention"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/sinks/kafka"
)

// runIndex is the indexer: Kafka consumer group → Elasticsearch bulk sink,
// with permanently rejected documents on the dead-letter topic and, where
// the cluster has no ILM, managed retention.
func runIndex(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("index", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (YAML)")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile (go tool pprof) of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := readConfig(*configPath, sectionsFor["index"]...)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	return index(ctx, cfg, stderr)
}

// startCPUProfile profiles the process into path until the returned stop
// is called (on any exit of the subcommand, including SIGTERM).
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func index(ctx context.Context, cfg Config, logOut io.Writer) error {
	prov, err := telemetry.New(cfg.Telemetry, "index", logOut)
	if err != nil {
		return err
	}
	tel := prov.Telemetry()
	dlw, err := kafka.NewDeadLetterWriter(cfg.Kafka, tel)
	if err != nil {
		return err
	}
	defer dlw.Close()
	sink, err := esink.New(cfg.Index.Elasticsearch, tel, &deadLetterTopic{w: dlw})
	if err != nil {
		return err
	}
	reader, err := kafka.NewReader(cfg.Index.Consumer, tel, sink)
	if err != nil {
		return err
	}
	client, err := esink.NewClient(cfg.Index.Elasticsearch)
	if err != nil {
		return err
	}
	prov.AddReadyCheck("kafka", cachedCheck(5*time.Second, brokersReachable(cfg.Index.Consumer.Brokers)))
	prov.AddReadyCheck("elasticsearch", cachedCheck(5*time.Second, esReachable(client, cfg.Index.Elasticsearch.URLs)))
	// Documents refused with 401, 403 or index_not_found for longer than
	// index.elasticsearch.unready_after: /readyz names the reason and since when.
	prov.AddReadyCheck("elasticsearch writes", sink.Ready)
	tel.Logger.Info("indexer starting", "group", cfg.Index.Consumer.GroupID,
		"topics", strings.Join(cfg.Index.Consumer.Topics, ","), "elasticsearch", strings.Join(cfg.Index.Elasticsearch.URLs, ","))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return prov.Run(gctx) })
	g.Go(func() error { return dlw.Run(gctx) })
	g.Go(func() error { return sink.Run(gctx) })
	templatesReady := &atomic.Bool{}
	prov.AddReadyCheck("index templates", func() error {
		if !templatesReady.Load() {
			return errors.New("waiting for flowship's index templates; run flowship setup")
		}
		return nil
	})
	g.Go(func() error {
		if cfg.Index.RequireTemplates {
			if err := waitTemplates(gctx, client, cfg.Retention, tel); err != nil {
				return err
			}
		}
		templatesReady.Store(true)
		return reader.Run(gctx)
	})
	g.Go(func() error { return managedRetention(gctx, cfg.Retention, client, tel) })
	err = g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil
	}
	tel.Logger.Info("indexer stopped")
	return err
}

// waitTemplates blocks until flowship's index templates exist: a daily
// index created before its template would keep dynamic mappings all day.
func waitTemplates(ctx context.Context, client esClient, cfg retention.Config, tel pipeline.Telemetry) error {
	logged := time.Time{}
	for {
		missing, err := retention.MissingTemplates(ctx, client, cfg)
		if err == nil && len(missing) == 0 {
			return nil
		}
		if time.Since(logged) > 30*time.Second {
			if err != nil {
				tel.Logger.Warn("cannot check the index templates yet; not consuming until they exist", "err", err)
			} else {
				tel.Logger.Warn("index templates missing; not consuming until they exist: run `flowship setup` (or set index.require_templates: false)",
					"missing", strings.Join(missing, ", "))
			}
			logged = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}

// managedRetention runs the retention Manager when the cluster has no ILM
// (or retention.mode is managed); with ILM it has nothing to do.
func managedRetention(ctx context.Context, cfg retention.Config, client esClient, tel pipeline.Telemetry) error {
	switch cfg.Mode {
	case retention.ModeILM:
		return nil
	case retention.ModeAuto:
		var st retention.ILMStatus
		err := pipeline.Retry(ctx, pipeline.Backoff{Initial: time.Second, Max: time.Minute}, func(ctx context.Context) error {
			var err error
			st, err = retention.DetectILM(ctx, client)
			return err
		}, func(attempt int, err error) {
			if ctx.Err() == nil && (attempt == 1 || attempt%10 == 0) {
				tel.Logger.Warn("cannot tell whether Elasticsearch has ILM yet; retrying", "err", err)
			}
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if st.Available {
			tel.Logger.Info("ILM manages retention", "ilm_mode", st.OperationMode)
			return nil
		}
		tel.Logger.Info("Elasticsearch has no ILM: flowship deletes expired indices itself (managed retention)")
	}
	m, err := retention.NewManager(cfg, client, tel)
	if err != nil {
		return err
	}
	return m.Run(ctx)
}

// deadLetterTopic adapts the Kafka dead-letter writer to the Consumer the
// Elasticsearch sink hands rejected documents to: it turns each
// RejectedDocument back into the original document plus dlq.* headers.
type deadLetterTopic struct{ w *kafka.DeadLetterWriter }

func (d *deadLetterTopic) Consume(ctx context.Context, b pipeline.Batch) error {
	dls := make([]kafka.DeadLetter, 0, len(b.Records))
	for _, r := range b.Records {
		rd, err := esink.ParseRejectedDocument(r.Value)
		if err != nil {
			return fmt.Errorf("dead letter for %s: %w", r.ID, err)
		}
		orig := r
		orig.Value = rd.Original()
		dls = append(dls, kafka.DeadLetter{Record: orig, Reason: rd.Cause(), Status: rd.Status, Index: rd.Index, Time: time.Now()})
	}
	if err := d.w.Write(ctx, dls); err != nil {
		return err
	}
	b.Ack(nil)
	return nil
}

// esClient is the Elasticsearch client the setup and retention code takes.
type esClient = *goes.Client
