package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/sync/errgroup"

	"github.com/flowship/flowship/aggregator"
	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/telemetry"
	"github.com/flowship/flowship/schema"
	"github.com/flowship/flowship/sinks/kafka"
)

// runReceive is the Goldmane receiver: an HTTP(S) endpoint for Goldmane's
// emitter that produces each posted flow to the flows topic and answers
// 200 only once Kafka has acknowledged every record of the POST.
func runReceive(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("receive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (YAML); defaults apply to what it leaves out")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := readConfig(*configPath, sectionsFor["receive"]...)
	if err != nil {
		return err
	}
	return receive(ctx, cfg, stderr)
}

func receive(ctx context.Context, cfg Config, logOut io.Writer) error {
	return receiveOn(ctx, cfg, logOut, nil)
}

// receiveOn runs the receiver on ln, or, when ln is nil, on a listener
// of receive.listen.
func receiveOn(ctx context.Context, cfg Config, logOut io.Writer, ln net.Listener) error {
	prov, err := telemetry.New(cfg.Telemetry, "receive", logOut)
	if err != nil {
		return err
	}
	tel := prov.Telemetry()
	writer, err := kafka.NewWriter(cfg.Kafka, tel)
	if err != nil {
		return err
	}
	defer writer.Close()
	h, err := newReceiver(cfg.Cluster, cfg.Receive, tel, writer)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: nil}
	if cfg.Receive.TLS.CertFile != "" {
		certs, err := newCertReloader(cfg.Receive.TLS, tel)
		if err != nil {
			return err
		}
		srv.TLSConfig = certs.serverConfig()
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Receive.Listen); err != nil {
			return fmt.Errorf("receive: listen on %s (receive.listen): %w", cfg.Receive.Listen, err)
		}
	}
	prov.AddReadyCheck("kafka", cachedCheck(5*time.Second, brokersReachable(cfg.Kafka.Brokers)))
	tel.Logger.Info("receiver starting", "cluster", cfg.Cluster, "listen", ln.Addr().String(), "path", cfg.Receive.Path,
		"tls", srv.TLSConfig != nil, "mtls", cfg.Receive.TLS.ClientCAFile != "")
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return prov.Run(gctx) })
	wctx, stopWriter := context.WithCancel(context.Background())
	defer stopWriter()
	werr := make(chan error, 1)
	go func() { werr <- writer.Run(wctx) }()
	g.Go(func() error {
		var err error
		if srv.TLSConfig != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Receive.AckTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	err = g.Wait()
	stopWriter() // after the server: POSTs in flight got their acks
	if werr2 := <-werr; err == nil {
		err = werr2
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil
	}
	tel.Logger.Info("receiver stopped")
	return err
}

// receiver is the HTTP handler of the flow endpoint.
type receiver struct {
	cluster string
	cfg     ReceiveConfig
	log     interface {
		Warn(msg string, args ...any)
	}
	next      pipeline.Consumer
	requests  metric.Int64Counter
	recordsOK metric.Int64Counter
}

func newReceiver(cluster string, cfg ReceiveConfig, tel pipeline.Telemetry, next pipeline.Consumer) (*receiver, error) {
	r := &receiver{cluster: cluster, cfg: cfg, log: tel.Logger, next: next}
	var err1, err2 error
	r.requests, err1 = tel.Meter.Int64Counter("flowship_receive_requests_total",
		metric.WithDescription("POSTs answered, by HTTP status code and reason (ok, bad_body, too_large, kafka_timeout, kafka_error, method, path)."))
	r.recordsOK, err2 = tel.Meter.Int64Counter("flowship_receive_records_total",
		metric.WithDescription("Flow records acknowledged by Kafka and answered 200."))
	return r, errors.Join(err1, err2)
}

func (rc *receiver) answer(w http.ResponseWriter, r *http.Request, code int, reason, msg string) {
	rc.requests.Add(r.Context(), 1, metric.WithAttributes(attribute.Int("code", code), attribute.String("reason", reason)))
	if code != http.StatusOK {
		rc.log.Warn("POST refused", "remote", r.RemoteAddr, "code", code, "reason", reason, "detail", msg)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != rc.cfg.Path {
		rc.answer(w, r, http.StatusNotFound, "path", "POST flows to "+rc.cfg.Path)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		rc.answer(w, r, http.StatusMethodNotAllowed, "method", "POST NDJSON flows")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(rc.cfg.MaxBodySize)))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		rc.answer(w, r, http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("body over receive.max_body_size (%d bytes)", tooLarge.Limit))
		return
	}
	if err != nil {
		rc.answer(w, r, http.StatusBadRequest, "bad_body", "reading the body: "+err.Error())
		return
	}
	recs, err := rc.parseBody(body)
	if err != nil {
		rc.answer(w, r, http.StatusBadRequest, "bad_body", err.Error())
		return
	}
	if len(recs) == 0 {
		rc.answer(w, r, http.StatusOK, "ok", "0 records")
		return
	}
	acked := make(chan error, 1) // the Ack never blocks, even after a timeout
	ctx, cancel := context.WithTimeout(r.Context(), rc.cfg.AckTimeout)
	defer cancel()
	if err := rc.next.Consume(ctx, pipeline.Batch{Records: recs, Ack: func(err error) { acked <- err }}); err != nil {
		rc.answer(w, r, http.StatusServiceUnavailable, "kafka_error", "not accepted for Kafka: "+err.Error())
		return
	}
	select {
	case err := <-acked:
		if err != nil {
			rc.answer(w, r, http.StatusServiceUnavailable, "kafka_error", "Kafka did not acknowledge: "+err.Error())
			return
		}
	case <-ctx.Done():
		rc.answer(w, r, http.StatusServiceUnavailable, "kafka_timeout",
			fmt.Sprintf("Kafka did not acknowledge within %v (receive.ack_timeout); retry", rc.cfg.AckTimeout))
		return
	}
	rc.recordsOK.Add(r.Context(), int64(len(recs)))
	rc.answer(w, r, http.StatusOK, "ok", strconv.Itoa(len(recs))+" records")
}

// parseBody parses an NDJSON body into flow documents. The first bad line
// fails the whole body with its line number (Goldmane resends the body
// whole, so a partial accept would not help).
func (rc *receiver) parseBody(body []byte) ([]pipeline.Record, error) {
	var recs []pipeline.Record
	for lineNo := 1; len(body) > 0; lineNo++ {
		line, rest, _ := bytes.Cut(body, []byte{'\n'})
		body = rest
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		g, err := schema.ParseGoldmane(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		recs = append(recs, rc.record(&g))
	}
	return recs, nil
}

// record builds one document. Its Kafka key is the flow key; its _id
// hashes the key and the window, so a retried POST or a window Goldmane
// emits again after its restart writes the same documents.
func (rc *receiver) record(g *schema.GoldmaneFlow) pipeline.Record {
	key, _ := json.Marshal(g.Key) // struct fields in a fixed order: deterministic
	idKey := binary.AppendVarint(append([]byte(nil), key...), g.EndTime)
	id := aggregator.DocID(rc.cluster, rc.cfg.Host, pipeline.KindFlow, idKey, g.StartTime, 0)
	doc := schema.GoldmaneFlowDoc(g, schema.Meta{Cluster: rc.cluster, Host: rc.cfg.Host, ID: id,
		BucketStart: g.StartTime, BucketEnd: g.EndTime, Records: 1, Level: -1})
	return pipeline.Record{Kind: pipeline.KindFlow, Key: key, ID: id, Time: time.Unix(g.StartTime, 0).UTC(),
		Node: rc.cfg.Host, Value: schema.AppendFlowDoc(nil, &doc)}
}
