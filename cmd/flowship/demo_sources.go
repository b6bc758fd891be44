package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/flowship/flowship/aggregator"
	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/schema/synth"
)

// The demo's sources (--source).
const (
	demoSourceCalico = "calico" // Felix's flows.log, l7.log, dns.log files (Calico Enterprise)
	// sourceHubble: Cilium's Hubble exporter file; sourceGoldmane:
	// Goldmane's emitter posting to `flowship receive`.
)

// demoHubbleRotateSize is where the demo's exporter file rotates: small
// enough that the default demo rotates a few times, as Cilium's exporter
// does at its 10MiB.
const demoHubbleRotateSize = 2 << 20

// configureSource sets the inputs (or the receiver) of the chosen source.
func (d *demo) configureSource() error {
	switch d.opts.source {
	case demoSourceCalico:
		return nil
	case sourceHubble:
		in := &d.cfg.Inputs
		in.Flows.Enabled, in.L7.Enabled, in.DNS.Enabled = false, false, false
		h := &in.Hubble
		h.Enabled, h.L7 = true, true
		hdir := filepath.Join(d.opts.dir, "hubble")
		h.Paths = []string{filepath.Join(hdir, "events.log"), filepath.Join(hdir, "events-*.log")}
		h.PositionsFile = filepath.Join(d.opts.dir, "positions", "hubble-flows.json")
		h.L7PositionsFile = filepath.Join(d.opts.dir, "positions", "hubble-l7.json")
		h.Linger = 200 * time.Millisecond
		return nil
	case sourceGoldmane:
		in := &d.cfg.Inputs
		in.Flows.Enabled, in.L7.Enabled, in.DNS.Enabled = false, false, false
		tlsDir := filepath.Join(d.opts.dir, "tls")
		client, err := writeDemoPKI(tlsDir)
		if err != nil {
			return fmt.Errorf("demo certificates: %w", err)
		}
		d.goldmaneClient = client
		r := &d.cfg.Receive
		r.Listen = "127.0.0.1:0"
		r.TLS = ReceiveTLS{CertFile: filepath.Join(tlsDir, "server.pem"), KeyFile: filepath.Join(tlsDir, "server-key.pem"),
			ClientCAFile: filepath.Join(tlsDir, "ca.pem")}
		r.AckTimeout = 30 * time.Second
		return nil
	}
	return usageError{fmt.Sprintf("--source %q: want calico, hubble or goldmane", d.opts.source)}
}

// generateHubble writes windows×flows-per-window Hubble events (one every
// 150ms) into an exporter file that rotates, and counts with the offline
// aggregator the documents they make.
func (d *demo) generateHubble(ctx context.Context) error {
	n := d.opts.windows * d.opts.flowsPerWindow
	span := time.Duration(n) * 150 * time.Millisecond
	start := time.Now().UTC().Add(-span - 5*time.Minute).Truncate(5 * time.Minute)
	files, err := synth.WriteHubbleFiles(filepath.Join(d.opts.dir, "hubble"), 1, start, n, demoHubbleRotateSize, 0)
	if err != nil {
		return fmt.Errorf("generating Hubble events: %w", err)
	}
	d.sourceNote = fmt.Sprintf("generated %d Hubble exporter events from %s in %d files (events.log rotated %d times)",
		n, start.Format(time.RFC3339), len(files.Backups)+1, files.Rotations)
	agg, err := d.offlineAggregator()
	if err != nil {
		return err
	}
	for _, f := range append(files.Backups, files.Live) {
		if _, err := feedSource(ctx, agg, nil, d.cfg.Cluster, f, sourceHubble, io.Discard); err != nil {
			return err
		}
	}
	return d.expectFrom(ctx, agg)
}

// generateGoldmane writes windows×4 Goldmane windows of 15 seconds
// (flows-per-window/4 flows each, at least 1) as the emitter would post
// them, and the documents the receiver makes of them.
func (d *demo) generateGoldmane(ctx context.Context) error {
	windows, per := d.opts.windows*4, max(d.opts.flowsPerWindow/4, 1)
	start := time.Now().UTC().Add(-time.Duration(windows)*15*time.Second - 5*time.Minute).Truncate(time.Minute)
	var buf bytes.Buffer
	if err := synth.WriteGoldmane(&buf, 1, start, windows, per); err != nil {
		return err
	}
	path := filepath.Join(d.opts.dir, "goldmane", "flows.ndjson")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	// One POST body per window of per lines.
	d.bodies = nil
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var body []byte
	for i := 1; sc.Scan(); i++ {
		body = append(append(body, sc.Bytes()...), '\n')
		if i%per == 0 {
			d.bodies, body = append(d.bodies, body), nil
		}
	}
	if len(body) > 0 {
		d.bodies = append(d.bodies, body)
	}
	ids := map[string]bool{}
	count := pipeline.ConsumerFunc(func(_ context.Context, b pipeline.Batch) error {
		for _, r := range b.Records {
			ids[r.ID] = true
		}
		b.Ack(nil)
		return nil
	})
	if _, err := feedGoldmane(ctx, count, d.cfg.Cluster, path, io.Discard); err != nil {
		return err
	}
	d.expected = map[pipeline.Kind]int64{pipeline.KindFlow: int64(len(ids))}
	d.lines = map[pipeline.Kind]int64{pipeline.KindFlow: int64(windows * per)}
	d.sourceNote = fmt.Sprintf("generated %d Goldmane windows of %d flows from %s, posted as Goldmane's emitter does (one NDJSON POST a window, mTLS)",
		windows, per, start.Format(time.RFC3339))
	return nil
}

func (d *demo) offlineAggregator() (*aggregator.Aggregator, error) {
	c := aggregationConfig(d.cfg)
	c.IdleFlush = 0
	return aggregator.New(c, pipeline.NopTelemetry(), pipeline.ConsumerFunc(func(_ context.Context, b pipeline.Batch) error { b.Ack(nil); return nil }))
}

func (d *demo) expectFrom(ctx context.Context, agg *aggregator.Aggregator) error {
	if err := agg.Flush(ctx); err != nil {
		return err
	}
	d.expected, d.lines = map[pipeline.Kind]int64{}, map[pipeline.Kind]int64{}
	for _, k := range pipeline.Kinds {
		s := agg.Stats(k)
		d.expected[k], d.lines[k] = s.Documents, s.Lines
	}
	return nil
}

// emitGoldmane posts each window to the receiver as Goldmane's emitter
// does (goldmane/pkg/emitter: one POST a window, Content-Type
// application/x-ndjson, a client certificate; anything but 200 is
// retried with backoff, up to 15 times).
func (d *demo) emitGoldmane(ctx context.Context, url string, logOut io.Writer) error {
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: d.goldmaneClient}}
	defer client.CloseIdleConnections()
	for i, body := range d.bodies {
		backoff := 100 * time.Millisecond
		for attempt := 0; ; attempt++ {
			err := postWindow(ctx, client, url, body)
			if err == nil {
				break
			}
			if attempt == 15 || ctx.Err() != nil {
				return fmt.Errorf("window %d not delivered after %d attempts: %w", i+1, attempt+1, err)
			}
			fmt.Fprintf(logOut, "demo emitter: window %d, attempt %d: %v; retrying in %v\n", i+1, attempt+1, err, backoff)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}
	return nil
}

func postWindow(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// runGoldmane runs the receiver on a loopback port and the emitter
// posting to it; it returns when the emitter delivered every window.
func (d *demo) runGoldmane(ctx context.Context, logOut io.Writer, goFn func(func() error)) error {
	ln, err := net.Listen("tcp", d.cfg.Receive.Listen)
	if err != nil {
		return fmt.Errorf("receiver: %w", err)
	}
	url := "https://" + ln.Addr().String() + d.cfg.Receive.Path
	goFn(func() error { return receiveOn(ctx, d.cfg, logOut, ln) })
	goFn(func() error {
		if err := d.emitGoldmane(ctx, url, logOut); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("emitter: %w", err)
		}
		return nil
	})
	return nil
}

// writeDemoPKI writes a throwaway CA, a server certificate for 127.0.0.1
// and localhost and its key into dir (ca.pem, server.pem,
// server-key.pem, as a cert-manager Secret would hold them) and returns
// the TLS configuration of a client with a certificate of that CA, the
// emitter's.
func writeDemoPKI(dir string) (*tls.Config, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, caKey, err := demoCert(nil, nil, "flowship demo CA", true)
	if err != nil {
		return nil, err
	}
	srv, srvKey, err := demoCert(ca, caKey, "flowship-receiver", false)
	if err != nil {
		return nil, err
	}
	cli, cliKey, err := demoCert(ca, caKey, "goldmane", false)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return nil, err
	}
	for name, blk := range map[string]*pem.Block{
		"ca.pem": {Type: "CERTIFICATE", Bytes: ca.Raw}, "server.pem": {Type: "CERTIFICATE", Bytes: srv.Raw},
		"server-key.pem": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(blk), 0o600); err != nil {
			return nil, err
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots,
		Certificates: []tls.Certificate{{Certificate: [][]byte{cli.Raw}, PrivateKey: cliKey, Leaf: cli}}}, nil
}

// demoCert makes a P-256 certificate valid for a day, signed by parent
// (self-signed when parent is nil).
func demoCert(parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"},
		BasicConstraintsValid: true, IsCA: isCA,
	}
	if isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage, tmpl.IPAddresses, tmpl.DNSNames = nil, nil, nil
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}
