package main

import (
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
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest"
	"github.com/flowship/flowship/schema"
)

// Two emitter records (the flow of goldmane/pkg/emitter/emitter_test.go
// with reporter dst, and one denied by an end-of-tier hit).
const goldmaneBody = `{"Key":{"source_name":"test-src","source_namespace":"test-ns","source_type":1,"dest_name":"test-dst","dest_namespace":"test-dst-ns","dest_type":1,"proto":"tcp","reporter":2,"action":1,"policies":{"enforced_policies":[{"kind":6,"namespace":"kube-system","name":"cluster-dns","tier":"test-tier","action":1,"rule_index":1}]}},"start_time":18,"end_time":28,"source_labels":["src=label"],"packets_in":10,"bytes_in":100,"num_connections_started":1}
{"Key":{"source_name":"scanner-*","source_namespace":"tools","source_type":1,"dest_name":"pub","dest_type":4,"dest_port":443,"proto":"tcp","reporter":1,"action":2,"policies":{"enforced_policies":[{"kind":10,"tier":"security","action":2,"rule_index":-1,"trigger":{"kind":2,"name":"security.quarantine","tier":"security"}}]}},"start_time":18,"end_time":28,"num_connections_started":3}
`

func testReceiver(t *testing.T, sink pipeline.Consumer, mod func(*ReceiveConfig)) *receiver {
	t.Helper()
	cfg := DefaultReceiveConfig()
	cfg.Path = "/flows"
	if mod != nil {
		mod(&cfg)
	}
	r, err := newReceiver("prod", cfg, pipeline.NopTelemetry(), sink)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func post(t *testing.T, h http.Handler, body string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/flows", strings.NewReader(body)))
	return w.Code, w.Body.String()
}

// ackingSink releases each batch's ack after setting released, so a
// response observed with released false was answered before the ack.
type ackingSink struct {
	released atomic.Bool
	err      error
	recs     [][]pipeline.Record
}

func (s *ackingSink) Consume(_ context.Context, b pipeline.Batch) error {
	s.recs = append(s.recs, b.Records)
	go func() { s.released.Store(true); b.Ack(s.err) }()
	return nil
}

func TestReceiveAnswers200OnlyAfterTheAck(t *testing.T) {
	sink := &ackingSink{}
	h := testReceiver(t, sink, nil)
	code, msg := post(t, h, goldmaneBody)
	if code != 200 || !sink.released.Load() || msg != "2 records\n" {
		t.Fatalf("code %d %q released %v", code, msg, sink.released.Load())
	}
	// A retry of the same body writes the same _ids.
	if code, _ := post(t, h, goldmaneBody); code != 200 {
		t.Fatal(code)
	}
	first, again := sink.recs[0], sink.recs[1]
	if first[0].ID != again[0].ID || first[1].ID != again[1].ID || first[0].ID == first[1].ID {
		t.Fatalf("ids %s %s / %s %s", first[0].ID, first[1].ID, again[0].ID, again[1].ID)
	}
	var f schema.Flow
	if err := schema.ParseFlow(first[1].Value, &f); err != nil {
		t.Fatal(err)
	}
	// By hand: an end-of-tier hit names its trigger with rule -1.
	if e := f.Policies.Enforced.Strings(); len(e) != 1 || e[0] != "0|security|gnp:security.quarantine|deny|-1" ||
		f.Action != "deny" || f.Reporter != "src" || f.DestType != "net" || f.DestPort.V != 443 || f.NumFlowsStarted != 3 {
		t.Fatalf("second record %s", first[1].Value)
	}
	if first[0].Kind != pipeline.KindFlow || first[0].Time.Unix() != 18 || first[0].Node != "goldmane" {
		t.Fatalf("record meta %+v", first[0])
	}
}

func TestReceiveRefusals(t *testing.T) {
	sink := &pipelinetest.Sink{}
	h := testReceiver(t, sink, func(c *ReceiveConfig) { c.MaxBodySize = 1024 })
	bad := strings.Replace(goldmaneBody, `"dest_type":4`, `"dest_type":9`, 1)
	if code, msg := post(t, h, bad); code != 400 || !strings.Contains(msg, `line 2: field "Key.dest_type": 9 is not a known value`) {
		t.Errorf("bad enum: %d %q", code, msg)
	}
	if code, msg := post(t, h, "{\"Key\":{}}\nnot json\n"); code != 400 || !strings.HasPrefix(msg, "line 1:") {
		t.Errorf("bad json: %d %q", code, msg)
	}
	if code, msg := post(t, h, strings.Repeat(goldmaneBody, 3)); code != 413 || !strings.Contains(msg, "1024 bytes") {
		t.Errorf("too large: %d %q", code, msg)
	}
	if sink.Batches() != 0 {
		t.Errorf("%d batches produced from refused bodies", sink.Batches())
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/flows", nil))
	if w.Code != 405 {
		t.Errorf("GET: %d", w.Code)
	}
	if code, _ := post(t, h, "\n\n"); code != 200 {
		t.Errorf("empty body: %d", code)
	}
}

func TestReceiveKafkaFailureIs503(t *testing.T) {
	h := testReceiver(t, &ackingSink{err: errors.New("broker gone")}, nil)
	if code, msg := post(t, h, goldmaneBody); code != 503 || !strings.Contains(msg, "broker gone") {
		t.Errorf("ack error: %d %q", code, msg)
	}
	held := &pipelinetest.Sink{Hold: true}
	h = testReceiver(t, held, func(c *ReceiveConfig) { c.AckTimeout = 50 * time.Millisecond })
	if code, msg := post(t, h, goldmaneBody); code != 503 || !strings.Contains(msg, "ack_timeout") {
		t.Errorf("no ack: %d %q", code, msg)
	}
	held.AckAll(nil) // a late ack goes nowhere and blocks nothing
}

// testPKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate into dir and returns their paths and the client's tls.Config.
type testPKI struct {
	CA, ServerCert, ServerKey string
	Client                    *tls.Config
	Stranger                  *tls.Config // a client certificate from another CA
}

func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	ca, caKey := newCert(t, nil, nil, "flowship test CA", true)
	srv, srvKey := newCert(t, ca, caKey, "receiver", false)
	cli, cliKey := newCert(t, ca, caKey, "goldmane", false)
	other, otherKey := newCert(t, nil, nil, "other CA", true)
	str, strKey := newCert(t, other, otherKey, "stranger", false)
	write := func(name string, blocks ...*pem.Block) string {
		var b bytes.Buffer
		for _, bl := range blocks {
			pem.Encode(&b, bl)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pki := testPKI{
		CA:         write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
		ServerCert: write("server.pem", &pem.Block{Type: "CERTIFICATE", Bytes: srv.Raw}),
		ServerKey:  write("server-key.pem", keyBlock(t, srvKey)),
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	pki.Client = &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{{Certificate: [][]byte{cli.Raw}, PrivateKey: cliKey}}}
	pki.Stranger = &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{{Certificate: [][]byte{str.Raw}, PrivateKey: strKey}}}
	return pki
}

func keyBlock(t *testing.T, k *ecdsa.PrivateKey) *pem.Block {
	b, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "EC PRIVATE KEY", Bytes: b}
}

func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, BasicConstraintsValid: true, IsCA: isCA,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func TestReceiveMutualTLS(t *testing.T) {
	pki := newTestPKI(t, t.TempDir())
	certs, err := newCertReloader(ReceiveTLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CA}, pipeline.NopTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(testReceiver(t, &ackingSink{}, nil))
	srv.TLS = certs.serverConfig()
	srv.StartTLS()
	defer srv.Close()
	do := func(c *tls.Config) (int, error) {
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: c}}
		resp, err := cl.Post(srv.URL+"/flows", "application/x-ndjson", strings.NewReader(goldmaneBody))
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if code, err := do(pki.Client); err != nil || code != 200 {
		t.Fatalf("client with a certificate of the CA: %d %v", code, err)
	}
	noCert := pki.Client.Clone()
	noCert.Certificates = nil
	if _, err := do(noCert); err == nil {
		t.Fatal("client without a certificate was served")
	}
	if _, err := do(pki.Stranger); err == nil {
		t.Fatal("client with a certificate of another CA was served")
	}
}

func TestReceiveConfigValidate(t *testing.T) {
	c := DefaultReceiveConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Listen, c.Path, c.MaxBodySize, c.TLS.ClientCAFile = "nope", "flows", 1, "/ca.pem"
	err := c.Validate()
	for _, k := range []string{"receive.listen", "receive.path", "receive.max_body_size", "receive.tls.client_ca_file"} {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("err %v does not name %s", err, k)
		}
	}
}
