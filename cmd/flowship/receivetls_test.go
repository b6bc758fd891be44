package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
)

// TestReceiveCertReload rotates the receiver's certificate, key and client
// CA files under a running HTTPS server, as cert-manager renewing the
// Secret does, and checks with real TLS handshakes which certificate the
// server presents and which clients it accepts; bad new files keep the
// previous certificate, are counted by file and logged with their path.
func TestReceiveCertReload(t *testing.T) {
	dir := t.TempDir()
	pkiA := newTestPKI(t, dir)
	var logs bytes.Buffer
	reader := sdkmetric.NewManualReader()
	tel := pipeline.NopTelemetry()
	tel.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	tel.Meter = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test")
	certs, err := newCertReloader(ReceiveTLS{CertFile: pkiA.ServerCert, KeyFile: pkiA.ServerKey, ClientCAFile: pkiA.CA}, tel)
	if err != nil {
		t.Fatal(err)
	}
	certs.checkEvery = 0 // look at the files on every handshake
	srv := httptest.NewUnstartedServer(testReceiver(t, &ackingSink{}, nil))
	srv.TLS = certs.serverConfig()
	srv.StartTLS()
	defer srv.Close()

	// post makes a new connection (a full handshake) and returns the DER
	// of the certificate the server presented.
	post := func(c *pkiClient) ([]byte, error) {
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: c.cfg, DisableKeepAlives: true}}
		resp, err := cl.Post(srv.URL+"/flows", "application/x-ndjson", strings.NewReader(goldmaneBody))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0].Raw, nil
	}
	fileDER := func() []byte {
		b, err := os.ReadFile(pkiA.ServerCert)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		return blk.Bytes
	}
	clientA := &pkiClient{pkiA.Client.Clone()}
	certA := fileDER()
	if got, err := post(clientA); err != nil || !bytes.Equal(got, certA) {
		t.Fatalf("before the rotation: %v, presented the first certificate: %v", err, bytes.Equal(got, certA))
	}

	// Renewal: a new CA, server certificate and key in the same files.
	keyA, _ := os.ReadFile(pkiA.ServerKey)
	pkiB := newTestPKI(t, dir)
	certB := fileDER()
	clientB := &pkiClient{pkiB.Client.Clone()}
	if got, err := post(clientB); err != nil || !bytes.Equal(got, certB) {
		t.Fatalf("after the rotation: %v, presented the new certificate: %v", err, bytes.Equal(got, certB))
	}
	// The old client's certificate is of the replaced CA: refused (it
	// trusts both server certificates, so only the client CA decides).
	bothRoots := clientA.cfg.Clone()
	bothRoots.RootCAs = clientA.cfg.RootCAs.Clone()
	bothRoots.RootCAs.AppendCertsFromPEM(mustRead(t, pkiB.CA))
	if _, err := post(&pkiClient{bothRoots}); err == nil {
		t.Fatal("a client certificate of the replaced client CA was accepted after the reload")
	}
	if got := metricTotal(t, reader, "flowship_receive_tls_reloads_total", ""); got != 1 {
		t.Errorf("reloads = %d, want 1", got)
	}

	// Bad new files: each keeps certificate B in use, names its file, is
	// counted once (not again at every handshake while it stays).
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	certBPEM := mustRead(t, pkiB.ServerCert)
	keyBPEM := mustRead(t, pkiB.ServerKey)
	caBPEM := mustRead(t, pkiB.CA)
	for _, bad := range []struct {
		name, key, path string
		file            string
		content         []byte
	}{
		{"certificate not PEM", "cert_file", pkiB.ServerCert, pkiB.ServerCert, []byte("not a certificate\n")},
		{"key of the old certificate", "key_file", pkiB.ServerKey, pkiB.ServerKey, keyA},
		{"client CA empty", "client_ca_file", pkiB.CA, pkiB.CA, nil},
	} {
		t.Run(bad.name, func(t *testing.T) {
			write(pkiB.ServerCert, certBPEM)
			write(pkiB.ServerKey, keyBPEM)
			write(pkiB.CA, caBPEM)
			write(bad.file, bad.content)
			before := metricTotal(t, reader, "flowship_receive_tls_reload_errors_total", bad.key)
			for i := 0; i < 3; i++ {
				if got, err := post(clientB); err != nil || !bytes.Equal(got, certB) {
					t.Fatalf("handshake %d with a bad %s: %v; kept the previous certificate: %v", i, bad.key, err, bytes.Equal(got, certB))
				}
			}
			if got := metricTotal(t, reader, "flowship_receive_tls_reload_errors_total", bad.key); got != before+1 {
				t.Errorf("reload errors{file=%s} = %d, want %d (counted once)", bad.key, got, before+1)
			}
			if !strings.Contains(logs.String(), "file="+bad.key) || !strings.Contains(logs.String(), bad.path) {
				t.Errorf("log does not name %s %s:\n%s", bad.key, bad.path, logs.String())
			}
		})
	}
	// Good files again: B is what was loaded last, so nothing to reload;
	// the count of reloads stays 1 and B is still served.
	write(pkiB.ServerCert, certBPEM)
	write(pkiB.ServerKey, keyBPEM)
	write(pkiB.CA, caBPEM)
	if got, err := post(clientB); err != nil || !bytes.Equal(got, certB) {
		t.Fatalf("after the bad files were fixed: %v", err)
	}
	if got := metricTotal(t, reader, "flowship_receive_tls_reloads_total", ""); got != 1 {
		t.Errorf("reloads = %d, want 1", got)
	}
	if !strings.Contains(logs.String(), "reloaded the server certificate") {
		t.Errorf("the reload was not logged:\n%s", logs.String())
	}
}

// TestReceiveCertReloadChecksAtMostOncePerInterval: between looks at the
// files, handshakes use the loaded certificate without reading them.
func TestReceiveCertReloadChecksAtMostOncePerInterval(t *testing.T) {
	dir := t.TempDir()
	pkiA := newTestPKI(t, dir)
	certs, err := newCertReloader(ReceiveTLS{CertFile: pkiA.ServerCert, KeyFile: pkiA.ServerKey}, pipeline.NopTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	certs.now = func() time.Time { return now }
	certs.lastCheck = now
	first := certs.config(context.Background())
	newTestPKI(t, dir)
	now = now.Add(999 * time.Millisecond)
	if certs.config(context.Background()) != first {
		t.Fatal("files read again before checkEvery passed")
	}
	now = now.Add(time.Millisecond)
	if certs.config(context.Background()) == first {
		t.Fatal("changed files not loaded once checkEvery passed")
	}
}

type pkiClient struct{ cfg *tls.Config }

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// metricTotal sums the data points of a counter, those with file=label
// when label is set.
func metricTotal(t *testing.T, r *sdkmetric.ManualReader, name, label string) int64 {
	t.Helper()
	if label == "" {
		return pipelinetest.MetricSum(t, r, name)
	}
	return pipelinetest.MetricSum(t, r, name, attribute.String("file", label))
}
