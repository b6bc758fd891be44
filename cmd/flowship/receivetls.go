package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/flowship/flowship/pipeline"
)

// certReloader serves the receiver's TLS: the server certificate and key
// and the client CA are read again when their files change (cert-manager
// renews a Secret, the kubelet swaps the mounted files), so a renewal
// needs no restart. The files are looked at during a handshake, at most
// once per checkEvery; a change is loaded whole and swapped in only when
// every file parses and the key matches the certificate. A bad new file
// keeps the previous certificate and CA in use; the error names the file
// and is counted and logged once per bad content.
type certReloader struct {
	cfg        ReceiveTLS
	checkEvery time.Duration
	now        func() time.Time
	log        *slog.Logger
	reloads    metric.Int64Counter
	errs       metric.Int64Counter

	mu        sync.Mutex // guards the fields below; held only while reading the small PEM files
	current   *tls.Config
	loaded    [3][]byte // cert, key, CA contents of current
	failed    [3][]byte // contents that failed last, not retried until they change
	failedMsg string    // the last error, not reported again while it stays the same
	lastCheck time.Time
}

// The files a reload reads, by their config key.
var tlsFileKeys = [3]string{"cert_file", "key_file", "client_ca_file"}

// newCertReloader loads the files once; an error there stops the
// receiver from starting, naming the file.
func newCertReloader(c ReceiveTLS, tel pipeline.Telemetry) (*certReloader, error) {
	r := &certReloader{cfg: c, checkEvery: time.Second, now: time.Now, log: tel.Logger}
	var err1, err2 error
	r.reloads, err1 = tel.Meter.Int64Counter("flowship_receive_tls_reloads_total",
		metric.WithDescription("Times the receiver loaded a changed server certificate, key or client CA (receive.tls) and used it for new connections."))
	r.errs, err2 = tel.Meter.Int64Counter("flowship_receive_tls_reload_errors_total",
		metric.WithDescription("Changed receive.tls files that could not be loaded, by file (cert_file, key_file, client_ca_file); the previous certificate stays in use."))
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	contents, err := r.read()
	if err != nil {
		return nil, err
	}
	tc, err := r.build(contents)
	if err != nil {
		return nil, err
	}
	r.current, r.loaded, r.lastCheck = tc, contents, r.now()
	return r, nil
}

// serverConfig is the tls.Config of the listener: every handshake asks
// the reloader for the current certificate and client CA.
func (r *certReloader) serverConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetConfigForClient: r.configForClient}
}

func (r *certReloader) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	ctx := context.Background()
	if hello != nil && hello.Context() != nil {
		ctx = hello.Context()
	}
	return r.config(ctx), nil
}

// config returns the current configuration, first loading changed files
// when checkEvery has passed since the last look.
func (r *certReloader) config(ctx context.Context) *tls.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.lastCheck) >= r.checkEvery {
		r.lastCheck = now
		r.reloadLocked(ctx)
	}
	return r.current
}

// reloadLocked loads the files if they differ from what is in use.
func (r *certReloader) reloadLocked(ctx context.Context) {
	contents, err := r.read()
	if err == nil && same(contents, r.loaded) {
		r.failed, r.failedMsg = [3][]byte{}, "" // back to what is in use: a new failure is reported again
		return
	}
	if err == nil && same(contents, r.failed) {
		return // a bad content already reported: wait for the next change
	}
	var tc *tls.Config
	if err == nil {
		tc, err = r.build(contents)
	}
	if err != nil {
		if err.Error() == r.failedMsg {
			return // the same unreadable file as at the last look
		}
		file := "unknown"
		var fe *tlsFileError
		if errors.As(err, &fe) {
			file = fe.key
		}
		r.failed, r.failedMsg = contents, err.Error()
		r.errs.Add(ctx, 1, metric.WithAttributes(attribute.String("file", file)))
		r.log.Error("receive.tls: changed file not loaded; the previous certificate and client CA stay in use", "file", file, "err", err)
		return
	}
	r.current, r.loaded, r.failed, r.failedMsg = tc, contents, [3][]byte{}, ""
	r.reloads.Add(ctx, 1)
	leaf := tc.Certificates[0].Leaf
	r.log.Info("receive.tls: reloaded the server certificate and client CA", "cert_file", r.cfg.CertFile,
		"subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339), "client_ca_file", r.cfg.ClientCAFile)
}

func same(a, b [3][]byte) bool {
	if a[0] == nil {
		return false // nothing read
	}
	return bytes.Equal(a[0], b[0]) && bytes.Equal(a[1], b[1]) && bytes.Equal(a[2], b[2])
}

// tlsFileError names the receive.tls key and file that failed.
type tlsFileError struct {
	key, path string
	err       error
}

func (e *tlsFileError) Error() string {
	return fmt.Sprintf("receive.tls.%s %s: %v", e.key, e.path, e.err)
}

func (e *tlsFileError) Unwrap() error { return e.err }

// read reads the three files (the CA only when configured). A read error
// names its file; the returned contents are then empty.
func (r *certReloader) read() ([3][]byte, error) {
	var out [3][]byte
	for i, p := range [3]string{r.cfg.CertFile, r.cfg.KeyFile, r.cfg.ClientCAFile} {
		if p == "" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return [3][]byte{}, &tlsFileError{tlsFileKeys[i], p, err}
		}
		out[i] = b
	}
	return out, nil
}

// build parses the contents into a server configuration, naming the file
// whose content is bad.
func (r *certReloader) build(c [3][]byte) (*tls.Config, error) {
	if !hasPEM(c[0], func(t string) bool { return t == "CERTIFICATE" }) {
		return nil, &tlsFileError{"cert_file", r.cfg.CertFile, errors.New("no PEM CERTIFICATE block in it")}
	}
	if !hasPEM(c[1], func(t string) bool { return bytes.HasSuffix([]byte(t), []byte("PRIVATE KEY")) }) {
		return nil, &tlsFileError{"key_file", r.cfg.KeyFile, errors.New("no PEM PRIVATE KEY block in it")}
	}
	cert, err := tls.X509KeyPair(c[0], c[1])
	if err != nil {
		// Both parse as PEM: the certificate or key is corrupt, or they do
		// not belong together (one renewed, the other not yet).
		return nil, &tlsFileError{"key_file", r.cfg.KeyFile, fmt.Errorf("does not load with cert_file %s: %w", r.cfg.CertFile, err)}
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	if r.cfg.ClientCAFile != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c[2]) {
			return nil, &tlsFileError{"client_ca_file", r.cfg.ClientCAFile, errors.New("no PEM certificate in it")}
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// hasPEM reports whether b holds a PEM block whose type ok accepts.
func hasPEM(b []byte, ok func(string) bool) bool {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return false
		}
		if ok(blk.Type) {
			return true
		}
	}
}
