//go:build integration

package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// TestGoldmaneReceiveKafkaSIGKILLExactlyOnce: a test client posts
// Goldmane NDJSON windows over mTLS to the flowship binary's receiver, the
// way Goldmane's emitter does (retry until 200). The receiver is SIGKILLed
// while POSTs are between arrival and the Kafka ack, and restarted; the
// client retries what was not answered 200. The indexer then puts the flows
// topic into Elasticsearch, which must hold every record exactly once: the
// documents' _ids derive from flow key and window, so the retried and
// re-produced records dedupe.
func TestGoldmaneReceiveKafkaSIGKILLExactlyOnce(t *testing.T) {
	t.Parallel()
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 9))
	e := newE2E(t, testenv.Elasticsearch(t), nil)
	bin := buildFlowship(t)
	pki := newTestPKI(t, e.dir)

	const windows, perWindow = 8, 150
	bodies, wantBytes := goldmaneWindows(rng, windows, perWindow)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: pki.Client}}
	// Each run listens on a fresh port (the killed process's port may be
	// held briefly by the kernel); in a cluster the Service name stays.
	var addr, url, cfgPath string
	listen := func() {
		addr = "127.0.0.1:" + freePort(t)
		url = "https://" + addr + "/flows"
		cfgPath = e.receiveConfig(addr, pki)
	}

	delivered := make([]bool, len(bodies))
	kills := 0
	for run := 0; ; run++ {
		if run > 10 {
			t.Fatalf("still undelivered windows after %d receiver runs", run)
		}
		listen()
		p := e.startReceiver(bin, cfgPath, run)
		p.waitLog(t, "receiver starting", time.Minute)
		waitFor(t, 30*time.Second, "the receiver to listen", func() (bool, string, error) {
			_, err := client.Get("https://" + addr + "/")
			return err == nil, fmt.Sprint(err), nil
		})
		// The kill falls on a window not yet delivered, so every run with a
		// kill planned does kill (and the loop ends once kills reach 3).
		killAt := -1
		if kills < 3 {
			var open []int
			for i := range bodies {
				if !delivered[i] {
					open = append(open, i)
				}
			}
			if len(open) > 0 {
				killAt = open[rng.IntN(len(open))]
			}
		}
		for i, body := range bodies {
			if delivered[i] {
				continue
			}
			if i == killAt {
				// SIGKILL while the POST waits for Kafka's ack (or just
				// before it arrives): the client sees an error or a 200.
				res := make(chan int, 1)
				go func() { res <- postOnce(client, url, body) }()
				time.Sleep(randDuration(rng, 0, 30*time.Millisecond))
				p.kill(t)
				kills++
				delivered[i] = <-res == http.StatusOK
				e.logf("run %d: SIGKILLed during the POST of window %d (answered 200: %v)", run, i, delivered[i])
				break
			}
			code := postOnce(client, url, body)
			if code != http.StatusOK {
				t.Fatalf("window %d: HTTP %d from a running receiver\n%s", i, code, tail(p.log, 20))
			}
			delivered[i] = true
		}
		if killAt < 0 {
			p.terminate(t)
			break
		}
	}
	// A re-emission of an already delivered window (Goldmane after its own
	// restart) must not duplicate either.
	listen()
	p := e.startReceiver(bin, cfgPath, 99)
	p.waitLog(t, "receiver starting", time.Minute)
	waitFor(t, 30*time.Second, "the receiver to listen", func() (bool, string, error) {
		code := postOnce(client, url, bodies[0])
		return code == http.StatusOK, fmt.Sprint(code), nil
	})
	p.terminate(t)

	indexer := e.start("index", e.cfg, index)
	e.waitLanded(windows*perWindow, 3*time.Minute, func() { indexer.running(t) })
	indexer.shutdown(t)
	ctx := context.Background()
	ids := e.esDocs(ctx)
	if len(ids) != windows*perWindow {
		t.Fatalf("%d distinct documents, want %d", len(ids), windows*perWindow)
	}
	for id, where := range ids {
		if len(where) != 1 {
			t.Errorf("document %s in %d indices: %v", id, len(where), where)
		}
	}
	if got := e.esSums(ctx, "flows", []string{"bytes_in"})["bytes_in"]; got != wantBytes {
		t.Errorf("sum of bytes_in in Elasticsearch %d, posted %d", got, wantBytes)
	}
	e.logf("%d records posted in %d windows with %d kills: each exactly once in Elasticsearch", windows*perWindow, windows, kills)
}

// postOnce POSTs body and returns the status, 0 on a transport error.
func postOnce(c *http.Client, url, body string) int {
	resp, err := c.Post(url, "application/x-ndjson", strings.NewReader(body))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// goldmaneWindows returns one NDJSON body per 15-second window with
// perWindow distinct flows each, and the sum of their bytes_in.
func goldmaneWindows(rng *rand.Rand, windows, perWindow int) ([]string, int64) {
	start := time.Now().Add(-time.Hour).Unix() / 15 * 15
	var bodies []string
	var sum int64
	for w := 0; w < windows; w++ {
		var b strings.Builder
		s := start + int64(w)*15
		for i := 0; i < perWindow; i++ {
			bytesIn := rng.Int64N(100000)
			sum += bytesIn
			fmt.Fprintf(&b, `{"Key":{"source_name":"client-%d-*","source_namespace":"ns-%d","source_type":1,"dest_name":"server-%d-*","dest_namespace":"ns-%d","dest_type":1,"dest_port":%d,"proto":"tcp","reporter":%d,"action":%d,"policies":{"enforced_policies":[{"kind":1,"namespace":"ns-%d","name":"allow-%d","tier":"default","action":%d,"rule_index":0}]}},"start_time":%d,"end_time":%d,"source_labels":["app=client-%d"],"packets_in":%d,"bytes_in":%d,"num_connections_started":%d}`+"\n",
				i, i%7, i%13, i%5, 8000+i%50, 1+i%2, 1+i%2, i%5, i%13, 1+i%2, s, s+15, i, 1+bytesIn/1000, bytesIn, 1+i%3)
		}
		bodies = append(bodies, b.String())
	}
	return bodies, sum
}

// receiveConfig writes the test's configuration plus a receive section
// (mTLS with pki, on addr) and returns its path.
func (e *e2e) receiveConfig(addr string, pki testPKI) string {
	e.t.Helper()
	src, err := os.ReadFile(e2eConfigFile)
	if err != nil {
		e.t.Fatal(err)
	}
	// The ${IT_*} references stay: the flowship process expands them from
	// its environment (e.environ), as in the other end-to-end tests.
	src = append(src, fmt.Sprintf("receive:\n  listen: %q\n  ack_timeout: 20s\n  tls:\n    cert_file: %s\n    key_file: %s\n    client_ca_file: %s\n",
		addr, pki.ServerCert, pki.ServerKey, pki.CA)...)
	p := filepath.Join(e.dir, "receive.yaml")
	if err := os.WriteFile(p, src, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// startReceiver runs `flowship receive`; its output goes to
// logs/receive-<n>.log.
func (e *e2e) startReceiver(bin, cfgPath string, n int) *process {
	e.t.Helper()
	return e.startFlowship(bin, "receive", cfgPath, n)
}
