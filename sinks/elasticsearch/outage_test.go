package elasticsearch

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

// pipeListener is an in-memory net.Listener whose connections are
// net.Pipes, so a whole HTTP exchange runs inside a synctest bubble.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9200} }

func (l *pipeListener) dial(ctx context.Context) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.done:
		return nil, syscall.ECONNREFUSED
	}
}

// TestSurvivesSixtySecondOutage keeps Elasticsearch unreachable for 60s
// of (fake) time: the batch must wait, nothing may be dead-lettered, the
// log must stay at one line per 30s, and everything must be indexed once
// Elasticsearch is back.
func TestSurvivesSixtySecondOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeES{t: t, docs: map[string]string{}, attempts: map[string]int{}}
		l := newPipeListener()
		srv := &http.Server{Handler: http.HandlerFunc(f.serve)}
		go srv.Serve(l)
		var down atomic.Bool
		down.Store(true)

		cfg := testConfig("http://es.invalid:9200")
		cfg.Retry = RetryConfig{Initial: 100 * time.Millisecond, Max: 5 * time.Second}
		logs := &syncBuffer{}
		tel := pipeline.NopTelemetry()
		tel.Logger = slog.New(slog.NewTextHandler(logs, nil))
		dlq := &pipelinetest.Sink{}
		s, err := New(cfg, tel, dlq)
		if err != nil {
			t.Fatal(err)
		}
		s.httpTr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			if down.Load() {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
			}
			return l.dial(ctx)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()

		a := newAck()
		if err := s.Consume(ctx, pipeline.Batch{Records: docs("d", 20), Ack: a.ack}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Second)
		synctest.Wait()
		if a.count() != 0 {
			t.Fatalf("batch settled while Elasticsearch was down: %v", a.err)
		}
		down.Store(false)
		time.Sleep(10 * time.Second) // longer than one backoff cap
		synctest.Wait()
		if a.count() != 1 || a.err != nil {
			t.Fatalf("after recovery: %d acks, err %v; want one nil ack", a.count(), a.err)
		}
		if f.docCount() != 20 || len(dlq.Records()) != 0 {
			t.Errorf("%d documents indexed, %d dead-lettered; want 20, 0", f.docCount(), len(dlq.Records()))
		}
		lines := strings.Count(logs.String(), "retrying with backoff until Elasticsearch answers")
		if lines < 2 || lines > 3 {
			t.Errorf("%d outage log lines in 60s, want 2-3 (one per 30s):\n%s", lines, logs)
		}
		if !strings.Contains(logs.String(), "suppressed=") || !strings.Contains(logs.String(), "connection refused") {
			t.Errorf("outage log lacks the cause or the suppressed count:\n%s", logs)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		srv.Close()
		l.Close()
	})
}
