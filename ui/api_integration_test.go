//go:build integration

package ui

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Every expected number below is summed by hand over the fixture rows in
// fixture_integration_test.go (D1…D7, L7 and DNS rows).

// TestAPI loads the fixture once and checks every endpoint against it.
func TestAPI(t *testing.T) {
	srv, _ := loadFixture(t)
	h := srv.Handler()
	t.Run("FlowGraph", func(t *testing.T) { testAPIFlowGraph(t, h) })
	t.Run("PolicyBoard", func(t *testing.T) { testAPIPolicyBoard(t, h) })
	t.Run("ServiceGraphHTTPDNS", func(t *testing.T) { testAPIServiceGraphHTTPDNS(t, h) })
	t.Run("FlowLogsPagingAndExport", func(t *testing.T) { testAPIFlowLogsPagingAndExport(t, h) })
	t.Run("BadInput", func(t *testing.T) { testAPIBadInput(t, h) })
}

type arcKey struct{ src, dst, action string }

func testAPIFlowGraph(t *testing.T, h http.Handler) {
	type counts struct{ Connections, Bytes, Packets int64 }
	cases := []struct {
		name   string
		filter string
		want   map[arcKey]counts
	}{
		{"all", "", map[arcKey]counts{
			{"shop/storefront-*", "shop/cart-api-*", "allow"}:       {5, 200, 20}, // D1+D2
			{"shop/storefront-*", "pay/payments-*", "deny"}:         {4, 400, 8},  // D3
			{"ci/image-sync-*", "public networks/pub", "allow"}:     {2, 1200, 15},
			{"ci/image-sync-*", "private networks/pvt", "deny"}:     {1, 60, 2},
			{"pay/payments-*", "network sets/dns-servers", "allow"}: {6, 600, 12},
		}},
		{"denied", "&action=deny", map[arcKey]counts{
			{"shop/storefront-*", "pay/payments-*", "deny"}:     {4, 400, 8},
			{"ci/image-sync-*", "private networks/pvt", "deny"}: {1, 60, 2},
		}},
		{"namespace either side", "&ns=pay", map[arcKey]counts{
			{"shop/storefront-*", "pay/payments-*", "deny"}:         {4, 400, 8},
			{"pay/payments-*", "network sets/dns-servers", "allow"}: {6, 600, 12},
		}},
		{"label and reporter", "&dst_label=app%3Dcart-api&reporter=dst", map[arcKey]counts{
			{"shop/storefront-*", "shop/cart-api-*", "allow"}: {2, 50, 5}, // D2
		}},
		{"policy", "&tier=t2&policy=t2.default-deny", map[arcKey]counts{
			{"shop/storefront-*", "pay/payments-*", "deny"}: {4, 400, 8},
		}},
		{"endpoint type", "&dst_type=net", map[arcKey]counts{
			{"ci/image-sync-*", "public networks/pub", "allow"}: {2, 1200, 15},
			{"ci/image-sync-*", "private networks/pvt", "deny"}: {1, 60, 2},
		}},
		{"two labels must both hold", "&src_label=app%3Dstorefront&dst_label=app%3Dpayments", map[arcKey]counts{
			{"shop/storefront-*", "pay/payments-*", "deny"}: {4, 400, 8},
		}},
		{"injection attempt is a literal value", "&src_ns=" + url.QueryEscape(`shop" OR "1"="1`) + "&name=" + url.QueryEscape(`{"match_all":{}}`), map[arcKey]counts{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got struct {
				Arcs []struct {
					Src, Dst           struct{ Group, Name string }
					Action             string
					Connections, Bytes int64
					Packets            int64
				}
				Total     counts
				Truncated bool
			}
			get(t, h, "/api/flows/graph?"+fixtureRange+c.filter, 200, &got)
			have := map[arcKey]counts{}
			for _, a := range got.Arcs {
				have[arcKey{a.Src.Group + "/" + a.Src.Name, a.Dst.Group + "/" + a.Dst.Name, a.Action}] = counts{a.Connections, a.Bytes, a.Packets}
			}
			if len(have) != len(c.want) {
				t.Errorf("arcs %v, want %v", have, c.want)
			}
			for k, w := range c.want {
				if have[k] != w {
					t.Errorf("arc %v = %+v, want %+v", k, have[k], w)
				}
			}
			if got.Truncated {
				t.Error("truncated")
			}
		})
	}
	t.Run("ports and policies of an arc", func(t *testing.T) {
		type detail struct {
			Arc struct {
				Ports []struct {
					Port, Connections int64
					Proto             string
				}
				Policies    []string
				Connections int64
			}
		}
		// D3: storefront -> payments, denied; 443/tcp, 4 connections,
		// enforced trace t1.p1 (pass), t2.default-deny (deny).
		d3 := "&arc_src_type=wep&arc_src_ns=shop&arc_src_name=storefront-*&arc_dst_type=wep&arc_dst_ns=pay&arc_dst_name=payments-*&arc_action=deny"
		var got detail
		get(t, h, "/api/flows/arc?"+fixtureRange+d3, 200, &got)
		a := got.Arc
		if len(a.Ports) != 1 || a.Ports[0].Port != 443 || a.Ports[0].Proto != "tcp" || a.Ports[0].Connections != 4 || a.Connections != 4 {
			t.Errorf("ports %+v (connections %d), want 443/tcp with 4", a.Ports, a.Connections)
		}
		if strings.Join(a.Policies, ",") != "t1.p1,t2.default-deny" {
			t.Errorf("policies %v", a.Policies)
		}
		// D1+D2 are one arc: 8080/tcp with 3+2 connections, t1.p1 and shop/t2.p2.
		var d12 detail
		get(t, h, "/api/flows/arc?"+fixtureRange+"&arc_src_ns=shop&arc_src_name=storefront-*&arc_dst_ns=shop&arc_dst_name=cart-api-*&arc_action=allow", 200, &d12)
		if p := d12.Arc.Ports; len(p) != 1 || p[0].Port != 8080 || p[0].Connections != 5 || strings.Join(d12.Arc.Policies, ",") != "shop/t2.p2,t1.p1" {
			t.Errorf("D1+D2: %+v", d12.Arc)
		}
		// The filter bar still holds: action=allow leaves nothing of D3.
		var none detail
		get(t, h, "/api/flows/arc?"+fixtureRange+d3+"&action=allow", 200, &none)
		if len(none.Arc.Ports) != 0 || len(none.Arc.Policies) != 0 || none.Arc.Connections != 0 {
			t.Errorf("D3 under action=allow: %+v", none.Arc)
		}
		// An empty key matches a missing field: every fixture row has a
		// source namespace, so nothing.
		get(t, h, "/api/flows/arc?"+fixtureRange+"&arc_src_ns=", 200, &none)
		if none.Arc.Connections != 0 {
			t.Errorf("arc_src_ns= (missing): %+v", none.Arc)
		}
		get(t, h, "/api/flows/arc?"+fixtureRange+"&arc_action=deny&arc_action=allow", 400, nil)
	})
}

type verdicts struct{ Connections, Allowed, Denied, Passed int64 }

func testAPIPolicyBoard(t *testing.T, h http.Handler) {
	type pol struct {
		Name   string
		Kind   string
		Staged bool
		verdicts
	}
	var got struct {
		Connections int64
		DataSince   string `json:"data_since"`
		Lists       map[string][]struct {
			Tier     string
			Policies []struct {
				Name                                 string
				Kind                                 string
				Staged                               bool
				Connections, Allowed, Denied, Passed int64
			}
		}
	}
	get(t, h, "/api/policies/board?"+fixtureRange, 200, &got)
	if got.Connections != 18 { // D1..D6: 3+2+4+2+1+6
		t.Errorf("connections %d, want 18", got.Connections)
	}
	if got.DataSince != "2026-06-08T10:00:00.000Z" { // D7, two days before the range
		t.Errorf("data_since %q", got.DataSince)
	}
	flatten := func(list string) (tiers []string, pols []pol) {
		for _, tr := range got.Lists[list] {
			tiers = append(tiers, tr.Tier)
			for _, p := range tr.Policies {
				pols = append(pols, pol{p.Name, p.Kind, p.Staged, verdicts{p.Connections, p.Allowed, p.Denied, p.Passed}})
			}
		}
		return tiers, pols
	}
	tiers, pols := flatten("enforced")
	if strings.Join(tiers, ",") != "t1,t2,__PROFILE__" {
		t.Errorf("enforced tiers %v, want t1,t2,__PROFILE__", tiers)
	}
	wantEnforced := []pol{
		{"t1.p1", "gnp", false, verdicts{9, 0, 0, 9}},              // D1 3 + D2 2 + D3 4, all pass
		{"t1.p4", "gnp", false, verdicts{1, 0, 1, 0}},              // D5
		{"shop/t2.p2", "np", false, verdicts{5, 5, 0, 0}},          // D1 + D2
		{"t2.default-deny", "gnp", false, verdicts{4, 0, 4, 0}},    // D3
		{"__PROFILE__.kns.ci", "pro", false, verdicts{2, 2, 0, 0}}, // D4
	}
	if !equalPols(pols, wantEnforced) {
		t.Errorf("enforced\n got %+v\nwant %+v", pols, wantEnforced)
	}
	tiers, pols = flatten("pending")
	if strings.Join(tiers, ",") != "t1,t2" {
		t.Errorf("pending tiers %v", tiers)
	}
	wantPending := []pol{
		{"t1.p1", "gnp", false, verdicts{9, 0, 0, 9}},
		{"shop/t2.p2", "np", false, verdicts{2, 2, 0, 0}},        // D2 only
		{"shop/t2.staged:p3", "snp", true, verdicts{3, 0, 3, 0}}, // D1's staged deny
		{"t2.default-deny", "gnp", false, verdicts{4, 0, 4, 0}},
	}
	if !equalPols(pols, wantPending) {
		t.Errorf("pending\n got %+v\nwant %+v", pols, wantPending)
	}
	// board_list=pending (what the page asks for) answers that list alone,
	// with the same hand-summed counts.
	got.Lists = nil
	get(t, h, "/api/policies/board?"+fixtureRange+"&board_list=pending", 200, &got)
	if _, ok := got.Lists["enforced"]; ok || len(got.Lists) != 1 {
		t.Errorf("board_list=pending answered lists %v", got.Lists)
	}
	if _, pols = flatten("pending"); !equalPols(pols, wantPending) || got.Connections != 18 || got.DataSince != "2026-06-08T10:00:00.000Z" {
		t.Errorf("board_list=pending\n got %+v (connections %d, since %q)\nwant %+v", pols, got.Connections, got.DataSince, wantPending)
	}
	get(t, h, "/api/policies/board?"+fixtureRange+"&board_list=all", 400, nil)

	type rule struct {
		Rule                                 int64
		Direction                            string
		Connections, Allowed, Denied, Passed int64
	}
	var rules struct{ Rules []rule }
	get(t, h, "/api/policies/rules?"+fixtureRange+"&rule_tier=t1&rule_policy=t1.p1", 200, &rules)
	want := []rule{{0, "egress", 7, 0, 0, 7}, {0, "ingress", 2, 0, 0, 2}} // D1+D3 from src, D2 from dst
	if !equalRules(rules.Rules, want) {
		t.Errorf("t1.p1 rules %+v, want %+v", rules.Rules, want)
	}
	get(t, h, "/api/policies/rules?"+fixtureRange+"&rule_tier=t2&rule_policy=shop/t2.p2", 200, &rules)
	want = []rule{{1, "egress", 3, 3, 0, 0}, {1, "ingress", 2, 2, 0, 0}}
	if !equalRules(rules.Rules, want) {
		t.Errorf("shop/t2.p2 rules %+v, want %+v", rules.Rules, want)
	}
	get(t, h, "/api/policies/rules?"+fixtureRange+"&rule_list=pending&rule_tier=t2&rule_policy=shop/t2.staged:p3", 200, &rules)
	want = []rule{{0, "egress", 3, 0, 3, 0}}
	if !equalRules(rules.Rules, want) {
		t.Errorf("staged rules %+v, want %+v", rules.Rules, want)
	}
	get(t, h, "/api/policies/rules?"+fixtureRange+"&rule_tier=t2&rule_policy=t2.default-deny", 200, &rules)
	want = []rule{{-1, "egress", 4, 0, 4, 0}}
	if !equalRules(rules.Rules, want) {
		t.Errorf("tier default rules %+v, want %+v", rules.Rules, want)
	}
}

func equalPols[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalRules[T comparable](a, b []T) bool { return equalPols(a, b) }

func testAPIServiceGraphHTTPDNS(t *testing.T, h http.Handler) {
	var g struct {
		Nodes []struct{ ID, Kind string }
		Edges []struct {
			Src, Dst, Action string
			Connections      int64
		}
	}
	get(t, h, "/api/services/graph?"+fixtureRange, 200, &g)
	edges := map[string]int64{}
	for _, e := range g.Edges {
		edges[e.Src+" > "+e.Dst+" "+e.Action] = e.Connections
	}
	wantEdges := map[string]int64{
		"workload:shop/storefront-* > service:shop/cart-api allow": 5,
		"workload:shop/storefront-* > service:pay/payments deny":   4,
		"workload:ci/image-sync-* > net:-/pub allow":               2,
		"workload:ci/image-sync-* > net:-/pvt deny":                1,
		"workload:pay/payments-* > netset:-/dns-servers allow":     6,
	}
	if len(edges) != len(wantEdges) {
		t.Errorf("edges %v, want %v", edges, wantEdges)
	}
	for k, w := range wantEdges {
		if edges[k] != w {
			t.Errorf("edge %s = %d, want %d", k, edges[k], w)
		}
	}
	if len(g.Nodes) != 8 { // storefront, image-sync, payments workloads; cart-api, payments services; pub, pvt, dns-servers
		t.Errorf("%d nodes, want 8: %+v", len(g.Nodes), g.Nodes)
	}

	type call struct {
		Method, URL, Code string
		Count             int64
		MeanDurationMs    float64 `json:"mean_duration_ms"`
		MaxDurationMs     float64 `json:"max_duration_ms"`
		BytesIn           int64   `json:"bytes_in"`
		BytesOut          int64   `json:"bytes_out"`
	}
	var calls struct{ Calls []call }
	get(t, h, "/api/services/http?"+fixtureRange+"&sel_src_ns=shop&sel_src_name=storefront-*&sel_dst_kind=service&sel_dst_ns=shop&sel_dst_name=cart-api", 200, &calls)
	wantCalls := []call{
		{"GET", "cart-api.shop.svc/api/cart", "200", 40, 3.5, 9, 400, 4000}, // (10*2 + 30*4)/40 ms
		{"POST", "cart-api.shop.svc/api/cart", "503", 2, 1, 1, 50, 0},
	}
	if !equalPols(calls.Calls, wantCalls) {
		t.Errorf("calls %+v, want %+v", calls.Calls, wantCalls)
	}
	get(t, h, "/api/services/http?"+fixtureRange, 200, &calls)
	if len(calls.Calls) != 3 {
		t.Errorf("all calls: %d rows, want 3", len(calls.Calls))
	}

	type lookup struct {
		QName, QType, RCode string
		Count               int64
		MeanLatencyMs       float64 `json:"mean_latency_ms"`
		MaxLatencyMs        float64 `json:"max_latency_ms"`
	}
	var dns struct{ Lookups []lookup }
	get(t, h, "/api/services/dns?"+fixtureRange+"&sel_src_ns=shop&sel_src_name=storefront-*", 200, &dns)
	wantDNS := []lookup{
		{"cart-api.shop.svc.cluster.local", "A", "NoError", 10, 1.6, 4}, // (7*1 + 3*3)/10 ms
		{"example.org", "AAAA", "NXDomain", 1, 5, 5},
	}
	if !equalPols(dns.Lookups, wantDNS) {
		t.Errorf("lookups %+v, want %+v", dns.Lookups, wantDNS)
	}
}

func testAPIFlowLogsPagingAndExport(t *testing.T, h http.Handler) {
	type page struct {
		Total int64
		Docs  []struct {
			Flowship struct{ ID string }
		}
		Next *string
	}
	var ids []string
	path := "/api/flowlogs?" + fixtureRange + "&size=4"
	for i := 0; ; i++ {
		var p page
		get(t, h, path, 200, &p)
		if p.Total != 6 {
			t.Fatalf("total %d, want 6 (D1..D6)", p.Total)
		}
		for _, d := range p.Docs {
			ids = append(ids, d.Flowship.ID)
		}
		if len(p.Docs) == 0 || p.Next == nil {
			break
		}
		if i > 3 {
			t.Fatal("paging does not end")
		}
		path = "/api/flowlogs?" + fixtureRange + "&size=4&after=" + *p.Next
	}
	if got := strings.Join(ids, ","); got != "d6,d5,d4,d3,d2,d1" {
		t.Errorf("pages gave %s, want newest first d6..d1", got)
	}
	body := get(t, h, "/api/flowlogs/export?"+fixtureRange+"&size=4&action=allow", 200, nil)
	sc := bufio.NewScanner(bytes.NewReader(body))
	n := 0
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"action":"allow"`) || !strings.HasPrefix(sc.Text(), "{") {
			t.Errorf("export line %q", sc.Text())
		}
		n++
	}
	if n != 4 { // D6, D4, D2, D1
		t.Errorf("export: %d lines, want 4", n)
	}
}

func testAPIBadInput(t *testing.T, h http.Handler) {
	cases := []struct{ path, reason string }{
		{"/api/flows/graph?bogus=1", `unknown query parameter "bogus"`},
		{"/api/flows/graph?range=100000d", "longer than"},
		{"/api/flows/graph?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z", "longer than"},
		{"/api/flows/graph?from=2026-01-01T00:00:00Z", "needs both from and to"},
		{"/api/flows/graph?from=yesterday&to=now", "RFC 3339"},
		{"/api/flows/graph?range=1h&from=1&to=2", "not both"},
		{"/api/flows/graph?action=drop", "want one of allow, deny"},
		{"/api/flows/graph?type=pod", "want one of wep"},
		{"/api/flows/graph?label=app", "want key=value"},
		{"/api/flows/graph?src_ns=a%00b", "control character"},
		{"/api/flows/graph?src_ns=" + strings.Repeat("a", 400), "longer than"},
		{"/api/flowlogs?size=100000", "want 1..500"},
		{"/api/flowlogs?after=eyJxdWVyeSI6MX0", "not a cursor"},
		{"/api/policies/rules?rule_tier=t1", "rule_tier and rule_policy"},
		{"/api/policies/rules?rule_list=all&rule_tier=a&rule_policy=b", "rule_list"},
		{"/api/hints?hint=password", "hint="},
	}
	for _, c := range cases {
		var e struct{ Error string }
		get(t, h, c.path, 400, &e)
		if !strings.Contains(e.Error, c.reason) {
			t.Errorf("%s: error %q, want it to say %q", c.path, e.Error, c.reason)
		}
		if strings.Contains(strings.ToLower(e.Error), "elasticsearch") {
			t.Errorf("%s: error mentions Elasticsearch: %q", c.path, e.Error)
		}
	}
	get(t, h, "/api/nothing", 404, nil)
}
