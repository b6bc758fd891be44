//go:build integration

package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	goes "github.com/elastic/go-elasticsearch/v8"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
	"github.com/flowship/flowship/retention"
	"github.com/flowship/flowship/schema"
	esink "github.com/flowship/flowship/sinks/elasticsearch"
	"github.com/flowship/flowship/ui/auth"
)

// t0 is the fixture's time: every document ends within [t0, t0+10m),
// except the one two days earlier that only "data since" may see.
var t0 = time.Date(2026, 6, 10, 10, 0, 0, 0, time.UTC)

// fixtureRange is the URL query of the fixture's absolute time range.
var fixtureRange = "from=" + t0.Format(time.RFC3339) + "&to=" + t0.Add(time.Hour).Format(time.RFC3339)

type ep struct{ typ, ns, name string }

type flowSpec struct {
	id             string
	at             time.Time
	src, dst       ep
	svcNS, svc     string
	port           int
	proto, action  string
	reporter       string
	flows          int
	bi, bo, pi, po int
	srcLab, dstLab []string
	enforced, pend []string
	policiesNull   bool
}

// fixtureFlows is the hand-counted fixture of docs/ui.md's tests; the
// expected numbers in the tests are sums over these rows by hand.
var fixtureFlows = []flowSpec{
	// D1: the Policy Board case: pass in tier 1, allow in tier 2, a staged deny pending.
	{id: "d1", at: t0.Add(1 * time.Minute), src: ep{"wep", "shop", "storefront-*"}, dst: ep{"wep", "shop", "cart-api-*"},
		svcNS: "shop", svc: "cart-api", port: 8080, proto: "tcp", action: "allow", reporter: "src", flows: 3, bi: 100, bo: 50, pi: 10, po: 5,
		srcLab: []string{"app=storefront"}, dstLab: []string{"app=cart-api"},
		enforced: []string{"0|t1|t1.p1|pass|0", "1|t2|shop/t2.p2|allow|1"},
		pend:     []string{"0|t1|t1.p1|pass|0", "1|t2|shop/t2.staged:p3|deny|0"}},
	// D2: the same connection reported by the destination.
	{id: "d2", at: t0.Add(2 * time.Minute), src: ep{"wep", "shop", "storefront-*"}, dst: ep{"wep", "shop", "cart-api-*"},
		svcNS: "shop", svc: "cart-api", port: 8080, proto: "tcp", action: "allow", reporter: "dst", flows: 2, bi: 20, bo: 30, pi: 2, po: 3,
		srcLab: []string{"app=storefront"}, dstLab: []string{"app=cart-api"},
		enforced: []string{"0|t1|t1.p1|pass|0", "1|t2|shop/t2.p2|allow|1"},
		pend:     []string{"0|t1|t1.p1|pass|0", "1|t2|shop/t2.p2|allow|1"}},
	// D3: denied by tier 2's default (no rule matched).
	{id: "d3", at: t0.Add(3 * time.Minute), src: ep{"wep", "shop", "storefront-*"}, dst: ep{"wep", "pay", "payments-*"},
		svcNS: "pay", svc: "payments", port: 443, proto: "tcp", action: "deny", reporter: "src", flows: 4, bi: 0, bo: 400, pi: 0, po: 8,
		srcLab: []string{"app=storefront"}, dstLab: []string{"app=payments"},
		enforced: []string{"0|t1|t1.p1|pass|0", "1|t2|t2.default-deny|deny|-1"},
		pend:     []string{"0|t1|t1.p1|pass|0", "1|t2|t2.default-deny|deny|-1"}},
	// D4: to the public internet, allowed by the namespace profile.
	{id: "d4", at: t0.Add(4 * time.Minute), src: ep{"wep", "ci", "image-sync-*"}, dst: ep{"net", "-", "pub"},
		svcNS: "-", svc: "-", port: 443, proto: "tcp", action: "allow", reporter: "src", flows: 2, bi: 1000, bo: 200, pi: 10, po: 5,
		srcLab: []string{"app=image-sync"}, dstLab: []string{},
		enforced: []string{"0|__PROFILE__|__PROFILE__.kns.ci|allow|0"}, pend: []string{}},
	// D5: to a private network, denied by rule 2 of a tier-1 policy.
	{id: "d5", at: t0.Add(5 * time.Minute), src: ep{"wep", "ci", "image-sync-*"}, dst: ep{"net", "-", "pvt"},
		svcNS: "-", svc: "-", port: 22, proto: "tcp", action: "deny", reporter: "src", flows: 1, bi: 30, bo: 30, pi: 1, po: 1,
		srcLab: []string{"app=image-sync"}, dstLab: []string{},
		enforced: []string{"0|t1|t1.p4|deny|2"}, pend: []string{}},
	// D6: to a global network set, policies not recorded.
	{id: "d6", at: t0.Add(6 * time.Minute), src: ep{"wep", "pay", "payments-*"}, dst: ep{"ns", "-", "dns-servers"},
		svcNS: "-", svc: "-", port: 53, proto: "udp", action: "allow", reporter: "src", flows: 6, bi: 300, bo: 300, pi: 6, po: 6,
		srcLab: []string{"app=payments"}, dstLab: []string{}, policiesNull: true},
	// D7: two days before the range: only "data since" sees it.
	{id: "d7", at: t0.Add(-48 * time.Hour), src: ep{"wep", "shop", "storefront-*"}, dst: ep{"wep", "shop", "cart-api-*"},
		svcNS: "shop", svc: "cart-api", port: 8080, proto: "tcp", action: "allow", reporter: "src", flows: 100, bi: 1, bo: 1, pi: 1, po: 1,
		srcLab: []string{"app=storefront"}, dstLab: []string{"app=cart-api"},
		enforced: []string{"0|t1|t1.p1|pass|0", "1|t2|shop/t2.p2|allow|1"}, pend: []string{}},
}

func (f flowSpec) doc() map[string]any {
	end := f.at.Unix()
	d := map[string]any{
		"start_time": end - 300, "end_time": end, "@timestamp": end * 1000,
		"source_ip": nil, "source_name": "-", "source_name_aggr": f.src.name, "source_namespace": f.src.ns, "source_port": nil, "source_type": f.src.typ,
		"source_labels": map[string]any{"labels": f.srcLab},
		"dest_ip":       nil, "dest_name": "-", "dest_name_aggr": f.dst.name, "dest_namespace": f.dst.ns, "dest_port": f.port, "dest_type": f.dst.typ,
		"dest_labels":            map[string]any{"labels": f.dstLab},
		"dest_service_namespace": f.svcNS, "dest_service_name": f.svc, "dest_service_port": "-",
		"proto": f.proto, "action": f.action, "reporter": f.reporter,
		"bytes_in": f.bi, "bytes_out": f.bo, "packets_in": f.pi, "packets_out": f.po, "num_flows": f.flows,
		"host": "node-1", "cluster": "fixture", "flowship": map[string]any{"schema": 1, "id": f.id},
	}
	if f.policiesNull {
		d["policies"] = nil
	} else {
		d["policies"] = map[string]any{"all_policies": f.enforced, "enforced_policies": f.enforced, "pending_policies": f.pend}
	}
	return d
}

type l7Spec struct {
	at                       time.Time
	src, dst                 ep
	svcNS, svc               string
	method, url, code        string
	count, mean, max, bi, bo int64
}

var fixtureL7 = []l7Spec{
	{t0.Add(time.Minute), ep{"wep", "shop", "storefront-*"}, ep{"wep", "shop", "cart-api-*"}, "shop", "cart-api", "GET", "cart-api.shop.svc/api/cart", "200", 10, 2e6, 5e6, 100, 1000},
	{t0.Add(2 * time.Minute), ep{"wep", "shop", "storefront-*"}, ep{"wep", "shop", "cart-api-*"}, "shop", "cart-api", "GET", "cart-api.shop.svc/api/cart", "200", 30, 4e6, 9e6, 300, 3000},
	{t0.Add(3 * time.Minute), ep{"wep", "shop", "storefront-*"}, ep{"wep", "shop", "cart-api-*"}, "shop", "cart-api", "POST", "cart-api.shop.svc/api/cart", "503", 2, 1e6, 1e6, 50, 0},
	{t0.Add(4 * time.Minute), ep{"wep", "ci", "image-sync-*"}, ep{"wep", "pay", "payments-*"}, "pay", "payments", "GET", "payments.pay.svc/health", "200", 5, 1e6, 1e6, 0, 10},
}

func (l l7Spec) doc() map[string]any {
	end := l.at.Unix()
	return map[string]any{
		"start_time": end - 300, "end_time": end, "@timestamp": end * 1000,
		"duration_mean": l.mean, "duration_max": l.max, "latency": 0, "bytes_in": l.bi, "bytes_out": l.bo, "count": l.count,
		"src_name_aggr": l.src.name, "src_namespace": l.src.ns, "src_type": l.src.typ,
		"dest_name_aggr": l.dst.name, "dest_namespace": l.dst.ns, "dest_type": l.dst.typ,
		"dest_service_name": l.svc, "dest_service_namespace": l.svcNS, "dest_service_port_name": "http", "dest_service_port": 80,
		"method": l.method, "url": l.url, "response_code": l.code, "type": "HTTP/1.1",
		"flowship": map[string]any{"schema": 1},
	}
}

type dnsSpec struct {
	at                         time.Time
	client                     ep
	qname, qtype, rcode        string
	count, lcount, lmean, lmax int64
}

var fixtureDNS = []dnsSpec{
	{t0.Add(time.Minute), ep{"wep", "shop", "storefront-*"}, "cart-api.shop.svc.cluster.local", "A", "NoError", 7, 7, 1e6, 2e6},
	{t0.Add(2 * time.Minute), ep{"wep", "shop", "storefront-*"}, "cart-api.shop.svc.cluster.local", "A", "NoError", 3, 3, 3e6, 4e6},
	{t0.Add(3 * time.Minute), ep{"wep", "shop", "storefront-*"}, "example.org", "AAAA", "NXDomain", 1, 1, 5e6, 5e6},
	{t0.Add(4 * time.Minute), ep{"wep", "ci", "image-sync-*"}, "registry.example.org", "A", "NoError", 9, 9, 1e6, 1e6},
}

func (d dnsSpec) doc() map[string]any {
	return map[string]any{
		"start_time": d.at.Add(-5 * time.Minute).Format(time.RFC3339Nano), "end_time": d.at.Format(time.RFC3339Nano),
		"type": "log", "count": d.count, "client_name": "-", "client_name_aggr": d.client.name, "client_namespace": d.client.ns,
		"client_ip": nil, "client_labels": map[string]any{"app": "x"}, "servers": []any{}, "qname": d.qname, "qclass": "IN", "qtype": d.qtype,
		"rcode": d.rcode, "rrsets": []any{}, "latency_count": d.lcount, "latency_mean": d.lmean, "latency_max": d.lmax,
		"flowship": map[string]any{"schema": 1},
	}
}

// loadFixture creates templates for a naming of its own (as `flowship
// setup` does), indexes the fixture (flow documents through
// schema.AppendWithPolicyHits, the indexer's bulk path) and returns a
// server over it (ui.auth.mode none).
func loadFixture(t *testing.T) (*Server, esink.Naming) {
	t.Helper()
	es, naming := indexFixture(t)
	cfg := DefaultConfig()
	srv := New(cfg, es, testAuth(t, cfg, auth.ESEndpoint{}), naming, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.now = func() time.Time { return t0.Add(30 * time.Minute) }
	return srv, naming
}

// indexFixture indexes the fixture under a prefix of its own that starts
// with "flowship-" (the indices the RBAC test users' roles may read) and
// returns the admin client and the naming.
func indexFixture(t *testing.T) (*goes.Client, esink.Naming) {
	t.Helper()
	es := testenv.ESClient(t)
	naming := esink.DefaultNaming()
	naming.Prefix = testenv.UniqueName(t, "ui")
	if len(naming.Prefix) > 40 {
		naming.Prefix = naming.Prefix[len(naming.Prefix)-40:]
		naming.Prefix = "ui" + strings.TrimLeft(naming.Prefix, "-")
	}
	naming.Prefix = "flowship-" + naming.Prefix
	naming.Cluster = "fixture"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rcfg := retention.DefaultConfig()
	rcfg.Naming = naming
	rcfg.Mode = retention.ModeManaged
	rcfg.Replicas = 0
	specs := map[pipeline.Kind]retention.KindSpec{}
	for _, k := range pipeline.Kinds {
		specs[k] = retention.KindSpec{Mapping: schema.Mapping(k), Settings: schema.Settings(k)}
	}
	if _, err := retention.Apply(ctx, es, rcfg, specs, retention.ApplyOptions{}); err != nil {
		t.Fatalf("templates: %v", err)
	}
	var bulk []byte
	add := func(kind pipeline.Kind, at time.Time, doc map[string]any) {
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		bulk = append(bulk, `{"create":{"_index":"`...)
		bulk = naming.AppendIndex(bulk, kind, at)
		bulk = append(bulk, "\"}}\n"...)
		if kind == pipeline.KindFlow {
			bulk = schema.AppendWithPolicyHits(bulk, b)
		} else {
			bulk = append(bulk, b...)
		}
		bulk = append(bulk, '\n')
	}
	for _, f := range fixtureFlows {
		add(pipeline.KindFlow, f.at, f.doc())
	}
	for _, l := range fixtureL7 {
		add(pipeline.KindL7, l.at, l.doc())
	}
	for _, d := range fixtureDNS {
		add(pipeline.KindDNS, d.at, d.doc())
	}
	res, err := es.Bulk(bytes.NewReader(bulk), es.Bulk.WithRefresh("true"), es.Bulk.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || bytes.Contains(body, []byte(`"errors":true`)) {
		t.Fatalf("bulk: %d %s", res.StatusCode, body)
	}
	t.Cleanup(func() {
		res, err := es.Indices.Delete([]string{naming.Prefix + "-*"})
		if err == nil {
			res.Body.Close()
		}
	})
	return es, naming
}

// get calls the API and decodes its JSON answer into v, failing unless the
// status is want.
func get(t *testing.T, h http.Handler, path string, want int, v any) []byte {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	if rec.Code != want {
		t.Fatalf("GET %s: %d, want %d: %s", path, rec.Code, want, rec.Body.String())
	}
	if v != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, rec.Body.String())
		}
	}
	return rec.Body.Bytes()
}
