package elasticsearch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"

	goes "github.com/elastic/go-elasticsearch/v8"

	"github.com/flowship/flowship/pipeline"
)

// ErrStopped is returned by Consume once Run has returned; the caller
// keeps the batch and its Ack.
var ErrStopped = errors.New("elasticsearch: sink stopped")

// Sink bulk-indexes documents into Elasticsearch. It implements
// pipeline.Consumer; see the package documentation for the settlement
// rules. Create it with New and start it with Run.
type Sink struct {
	cfg     Config
	tel     pipeline.Telemetry
	dlq     pipeline.Consumer
	client  *goes.Client
	httpTr  *http.Transport
	user    string // for error messages: the username or "API key"
	m       *metrics
	warn    *warnings
	waits   *waitBoard
	queue   chan pipeline.Batch
	done    chan struct{} // closed when the workers have stopped
	mu      sync.RWMutex  // Consume holds it shared; Run takes it to close
	closed  bool
	started atomic.Bool
}

// New checks cfg, reads the secrets it names, and returns a Sink that
// sends permanently rejected documents to deadLetter (required: without
// it such documents could only be dropped). It does not contact
// Elasticsearch.
func New(cfg Config, tel pipeline.Telemetry, deadLetter pipeline.Consumer) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deadLetter == nil {
		return nil, errors.New("elasticsearch: a dead-letter consumer is required; wire the dead-letter topic writer")
	}
	tel = withDefaults(tel)
	client, tr, apiKey, err := newClient(cfg, true)
	if err != nil {
		return nil, err
	}
	waits := newWaitBoard(cfg.Workers)
	m, err := newMetrics(tel, waits)
	if err != nil {
		return nil, err
	}
	user := cfg.Username
	if apiKey != "" {
		user = "API key from " + cfg.APIKeyFile
	}
	return &Sink{
		cfg: cfg, tel: tel, dlq: deadLetter, client: client, httpTr: tr, user: user, m: m,
		warn: newWarnings(logEvery), waits: waits,
		queue: make(chan pipeline.Batch, cfg.QueueSize),
		done:  make(chan struct{}),
	}, nil
}

func withDefaults(tel pipeline.Telemetry) pipeline.Telemetry {
	nop := pipeline.NopTelemetry()
	if tel.Logger == nil {
		tel.Logger = nop.Logger
	}
	if tel.Meter == nil {
		tel.Meter = nop.Meter
	}
	if tel.Tracer == nil {
		tel.Tracer = nop.Tracer
	}
	return tel
}

func httpTransport(cfg Config) (*http.Transport, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLS.InsecureSkipVerify} //nolint:gosec // opt-in, documented as test-only
	if cfg.TLS.CAFile != "" {
		pem, err := os.ReadFile(cfg.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("elasticsearch.tls.ca_file: no PEM certificate found in %s", cfg.TLS.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.MaxIdleConnsPerHost = cfg.Workers + 1
	return tr, nil
}

// Consume hands b to the sink. It blocks while the queue is full
// (backpressure) and returns ctx.Err() if ctx ends first, or ErrStopped
// after Run has returned; in both cases the caller keeps b's Ack. An empty
// batch is acked at once.
func (s *Sink) Consume(ctx context.Context, b pipeline.Batch) error {
	if len(b.Records) == 0 {
		b.Ack(nil)
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrStopped
	}
	select {
	case s.queue <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrStopped
	}
}

// Run indexes queued batches with cfg.Workers concurrent workers until ctx
// ends. Then every batch not yet settled (in a worker or still queued) is
// acked with an error, so its source replays it, and Run returns nil. Run
// may be called once.
func (s *Sink) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("elasticsearch: Run called twice")
	}
	var wg sync.WaitGroup
	for id := range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			newWorker(s, id).run(ctx)
		}()
	}
	wg.Wait()
	close(s.done)
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for {
		select {
		case b := <-s.queue:
			s.m.items(ctx, failedLabel, len(b.Records))
			b.Ack(stoppedError(ctx, len(b.Records)))
		default:
			s.httpTr.CloseIdleConnections()
			return nil
		}
	}
}

// stoppedError is the Ack error for n documents left unsettled at
// shutdown.
func stoppedError(ctx context.Context, n int) error {
	cause := context.Cause(ctx)
	if cause == nil {
		cause = ErrStopped
	}
	return fmt.Errorf("elasticsearch: stopped before %d documents were indexed; they will be replayed: %w", n, cause)
}
