package aggregator

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/flowship/flowship/schema"
)

func TestMaskFlowLevels(t *testing.T) {
	type masked struct {
		srcIP, dstIP         string
		srcPort, dstPort     bool // Valid
		srcName, dstName     string
		svcPort              string
		srcAggr, ns, svcName string
	}
	tests := []struct {
		level int
		want  masked
	}{
		{0, masked{"10.42.1.11", "10.42.3.21", true, true, "client-6c8f9d7b4-abcde", "backend-5d4c3b2a1-xyz12", "http", "client-6c8f9d7b4-*", "shop", "backend"}},
		{1, masked{"10.42.1.11", "10.42.3.21", false, true, "client-6c8f9d7b4-abcde", "backend-5d4c3b2a1-xyz12", "http", "client-6c8f9d7b4-*", "shop", "backend"}},
		{2, masked{"", "", false, true, "-", "-", "http", "client-6c8f9d7b4-*", "shop", "backend"}},
		{3, masked{"", "", false, false, "-", "-", "-", "client-6c8f9d7b4-*", "shop", "backend"}},
	}
	src := line(t, baseFlow, map[string]any{"dest_service_namespace": "shop", "dest_service_name": "backend",
		"dest_service_port": "http", "dest_service_port_num": 80})
	for _, tc := range tests {
		t.Run(fmt.Sprintf("level %d", tc.level), func(t *testing.T) {
			f := parseFlow(t, src)
			maskFlow(f, tc.level)
			got := masked{f.SourceIP, f.DestIP, f.SourcePort.Valid, f.DestPort.Valid, f.SourceName, f.DestName,
				f.DestServicePort, f.SourceNameAggr, f.SourceNamespace, f.DestServiceName}
			if got != tc.want {
				t.Errorf("masked = %+v\nwant     %+v", got, tc.want)
			}
			if !f.DestServicePortNum.Valid || f.DestServicePortNum.V != 80 {
				t.Errorf("dest_service_port_num = %+v, want kept at every level (spec §3.2)", f.DestServicePortNum)
			}
			// Masking again (a source line already at this level) changes nothing.
			again := *f
			maskFlow(&again, tc.level)
			if again != *f {
				t.Error("masking twice is not a no-op")
			}
		})
	}
}

func flowKeyOf(t testing.TB, k *flowKeyer, l []byte) ([]byte, int) {
	t.Helper()
	key, level := k.key(nil, parseFlow(t, l))
	return bytes.Clone(key), level
}

func TestFlowKey(t *testing.T) {
	trace := func(entries ...string) map[string]any {
		return map[string]any{"all_policies": entries, "enforced_policies": entries, "pending_policies": entries}
	}
	base := line(t, baseFlow, nil)
	tests := []struct {
		name      string
		levels    Levels
		group     bool
		a, b      []byte
		same      bool
		wantLevel int // level applied to b
	}{
		{"other source port merges at level 1", Levels{1, 1}, true, base,
			line(t, baseFlow, map[string]any{"source_port": 40002}), true, 1},
		{"other source port separate at level 0", Levels{0, 0}, true, base,
			line(t, baseFlow, map[string]any{"source_port": 40002}), false, 0},
		{"other pod of the prefix merges at level 2", Levels{2, 1}, true, base,
			line(t, baseFlow, map[string]any{"source_ip": "10.42.1.12", "source_name": "client-6c8f9d7b4-fghij"}), true, 2},
		{"other dest port separate at level 2", Levels{2, 1}, true, base,
			line(t, baseFlow, map[string]any{"dest_port": 9090}), false, 2},
		{"other dest port merges at level 3", Levels{3, 3}, true, base,
			line(t, baseFlow, map[string]any{"dest_port": 9090}), true, 3},
		{"reporter always in the key", Levels{3, 3}, true, base,
			line(t, baseFlow, map[string]any{"reporter": "dst"}), false, 3},
		{"action always in the key", Levels{3, 3}, true, base,
			line(t, baseFlow, map[string]any{"action": "deny"}), false, 3},
		{"service fields in the key", Levels{3, 3}, true, base,
			line(t, baseFlow, map[string]any{"dest_service_name": "backend", "dest_service_namespace": "shop"}), false, 3},
		{"process name in the key", Levels{3, 3}, true, base,
			line(t, baseFlow, map[string]any{"process_name": "/bin/curl", "num_process_names": 1}), false, 3},
		{"staged deny uses the denied level", Levels{2, 0}, true, base,
			line(t, baseFlow, map[string]any{"source_port": 40002, "policies": trace(
				"0|security|security.staged:quarantine|deny|0", "1|default|shop/default.client-to-backend|allow|0")}), false, 0},
		{"policy order does not matter", Levels{2, 1}, true,
			line(t, baseFlow, map[string]any{"policies": trace("0|a|a.p|pass|0", "1|b|b.q|allow|2")}),
			line(t, baseFlow, map[string]any{"policies": trace("1|b|b.q|allow|2", "0|a|a.p|pass|0")}), true, 2},
		{"other policy trace separate with group_by_policy", Levels{2, 1}, true, base,
			line(t, baseFlow, map[string]any{"policies": trace("0|default|shop/default.other|allow|0")}), false, 2},
		{"other policy trace merges without group_by_policy", Levels{2, 1}, false, base,
			line(t, baseFlow, map[string]any{"policies": trace("0|default|shop/default.other|allow|0")}), true, 2},
		{"null and [] NAT ports alike", Levels{0, 0}, true, base,
			line(t, baseFlow, map[string]any{"nat_outgoing_ports": []int{}}), true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := &flowKeyer{levels: tc.levels, groupByPolicy: tc.group}
			ka, _ := flowKeyOf(t, k, tc.a)
			kb, level := flowKeyOf(t, k, tc.b)
			if same := bytes.Equal(ka, kb); same != tc.same {
				t.Errorf("same key = %v, want %v\na=%q\nb=%q", same, tc.same, ka, kb)
			}
			if level != tc.wantLevel {
				t.Errorf("level = %d, want %d", level, tc.wantLevel)
			}
			if again, _ := flowKeyOf(t, k, tc.b); !bytes.Equal(again, kb) {
				t.Error("key not deterministic")
			}
		})
	}
}

func TestHasDeny(t *testing.T) {
	tests := []struct {
		name   string
		mods   map[string]any
		denied bool
	}{
		{"allow trace", nil, false},
		{"deny action", map[string]any{"action": "deny"}, true},
		{"staged deny in all_policies", map[string]any{"policies": map[string]any{
			"all_policies":      []string{"0|s|s.staged:x|deny|0", "1|d|d.y|allow|0"},
			"enforced_policies": []string{"0|d|d.y|allow|0"}}}, true},
		{"enforced used when all_policies is empty", map[string]any{"policies": map[string]any{
			"all_policies": []string{}, "enforced_policies": []string{"0|d|d.y|deny|-1"}}}, true},
		{"legacy 4-part deny", map[string]any{"policies": map[string]any{
			"all_policies": []string{"0|__PROFILE__|__PROFILE__.kns.x|deny"}}}, true},
		{"policies null", map[string]any{"policies": nil}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hasDeny(parseFlow(t, line(t, baseFlow, tc.mods))); got != tc.denied {
				t.Errorf("hasDeny = %v, want %v", got, tc.denied)
			}
		})
	}
}

func TestExtraKeyFields(t *testing.T) {
	kf, err := compileKeyFields(ExtraKeyFields{Flows: []string{"dest_domains", "source_port"}})
	if err != nil {
		t.Fatal(err)
	}
	k := &flowKeyer{levels: Levels{2, 2}, groupByPolicy: true, extra: kf.flows}
	a, _ := flowKeyOf(t, k, line(t, baseFlow, map[string]any{"dest_domains": []string{"a.example"}}))
	b, _ := flowKeyOf(t, k, line(t, baseFlow, map[string]any{"dest_domains": []string{"b.example"}}))
	if bytes.Equal(a, b) {
		t.Error("extra key field dest_domains ignored")
	}
	if _, err := compileKeyFields(ExtraKeyFields{DNS: []string{"nope"}}); err == nil ||
		!bytes.Contains([]byte(err.Error()), []byte("extra_key_fields.dns[0]")) {
		t.Errorf("unknown extra field error = %v, want it to name extra_key_fields.dns[0]", err)
	}
}

func TestMaskL7(t *testing.T) {
	parse := func() *schema.L7 {
		var l schema.L7
		if err := schema.ParseL7(line(t, baseL7, map[string]any{
			"user_agent": "curl/8", "type": "HTTP/1.1", "source_port_num": 51544}), &l); err != nil {
			t.Fatal(err)
		}
		return &l
	}
	tests := []struct {
		name  string
		knobs func(*L7Config)
		check func(*schema.L7) bool
	}{
		{"defaults: header info and source port excluded", func(*L7Config) {}, func(l *schema.L7) bool {
			return l.UserAgent == "-" && l.Type == "-" && l.SourcePortNum == 0 && l.Method == "GET" &&
				l.SrcNameAggr == "storefront-7d9c5b6f4-*" && l.DestServiceName == "cart-api"
		}},
		{"include header info and source port", func(c *L7Config) {
			c.HeaderInfo, c.SourceInfo = IncludeL7HTTPHeaderInfo, IncludeL7SourceInfo
		}, func(l *schema.L7) bool {
			return l.UserAgent == "curl/8" && l.Type == "HTTP/1.1" && l.SourcePortNum == 51544
		}},
		{"exclude method", func(c *L7Config) { c.Method = ExcludeL7HTTPMethod }, func(l *schema.L7) bool { return l.Method == "-" }},
		{"exclude service", func(c *L7Config) { c.ServiceInfo = ExcludeL7ServiceInfo }, func(l *schema.L7) bool {
			return l.DestServiceName == "-" && l.DestServiceNS == "-" && l.DestServicePortName == "-" && l.DestServicePort == 0
		}},
		{"exclude destination", func(c *L7Config) { c.DestinationInfo = ExcludeL7DestinationInfo }, func(l *schema.L7) bool {
			return l.DestNameAggr == "-" && l.DestNamespace == "-" && l.DestType == "-" && l.DestPortNum == 0
		}},
		{"exclude source", func(c *L7Config) { c.SourceInfo = ExcludeL7SourceInfo }, func(l *schema.L7) bool {
			return l.SrcNameAggr == "-" && l.SrcNamespace == "-" && l.SrcType == "-" && l.SourcePortNum == 0
		}},
		{"exclude response code", func(c *L7Config) { c.ResponseCode = ExcludeL7ResponseCode }, func(l *schema.L7) bool { return l.ResponseCode == "-" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultL7Config()
			tc.knobs(&c)
			l := parse()
			maskL7(l, &c)
			if !tc.check(l) {
				t.Errorf("masked view %+v", *l)
			}
		})
	}
	// The overflow record is left alone.
	l := schema.L7{Type: unlogged, Count: 438}
	c := DefaultL7Config()
	maskL7(&l, &c)
	if l.Type != unlogged || l.UserAgent != "" {
		t.Errorf("unlogged record masked: %+v", l)
	}
}

func TestTrimURL(t *testing.T) {
	const u = "cart-api.shop.svc.cluster.local/api/v2/carts/8812/items/5/x?expand=true"
	tests := []struct {
		name  string
		knobs func(*L7Config)
		in    string
		want  string
	}{
		{"spec example: 5 segments, query dropped", nil, "d/a/b/c/d/e/f/g?x=1", "d/a/b/c/d/e"},
		{"full URL keeps 5 segments by default", nil, u, "cart-api.shop.svc.cluster.local/api/v2/carts/8812/items"},
		{"fewer segments than the limit", nil, "d/a/b?q", "d/a/b"},
		{"negative NumURLPath keeps path and query", func(c *L7Config) { c.NumURLPath = -1 }, u, u},
		{"zero segments keeps the domain", func(c *L7Config) { c.NumURLPath = 0 }, u, "cart-api.shop.svc.cluster.local"},
		{"TrimURLQuery keeps the whole path", func(c *L7Config) { c.TrimURL = TrimURLQuery }, u,
			"cart-api.shop.svc.cluster.local/api/v2/carts/8812/items/5/x"},
		{"TrimURLQueryAndPath keeps the domain", func(c *L7Config) { c.TrimURL = TrimURLQueryAndPath }, u, "cart-api.shop.svc.cluster.local"},
		{"ExcludeL7URL empties it", func(c *L7Config) { c.TrimURL = ExcludeL7URL }, u, ""},
		{"char limit cuts the path", func(c *L7Config) { c.URLCharLimit = 40 }, u, "cart-api.shop.svc.cluster.local/api/v2/c"},
		{"char limit cuts a long domain and drops the path", func(c *L7Config) { c.URLCharLimit = 8 }, u, "cart-api"},
		{"domain only", nil, "example.com", "example.com"},
		{"empty", nil, "", ""},
		{"already trimmed is stable", nil, "cart-api.shop.svc.cluster.local/api/v2/carts/8812/items",
			"cart-api.shop.svc.cluster.local/api/v2/carts/8812/items"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultL7Config()
			if tc.knobs != nil {
				tc.knobs(&c)
			}
			if got := trimURL(tc.in, &c); got != tc.want {
				t.Errorf("trimURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDNSKey(t *testing.T) {
	parse := func(mods map[string]any) *schema.DNS {
		var d schema.DNS
		if err := schema.ParseDNS(line(t, baseDNS, mods), &d); err != nil {
			t.Fatal(err)
		}
		return &d
	}
	other := map[string]any{"client_name": "storefront-7d9c5b6f4-zzzzz", "client_ip": "10.42.1.99"}
	a0 := bytes.Clone(dnsKey(nil, parse(nil), 0, nil))
	b0 := bytes.Clone(dnsKey(nil, parse(other), 0, nil))
	if bytes.Equal(a0, b0) {
		t.Error("level 0: two clients share a key")
	}
	a1 := bytes.Clone(dnsKey(nil, parse(nil), 1, nil))
	b1 := bytes.Clone(dnsKey(nil, parse(other), 1, nil))
	if !bytes.Equal(a1, b1) {
		t.Error("level 1: client name/IP not masked")
	}
	c1 := dnsKey(nil, parse(map[string]any{"rcode": "NXDomain"}), 1, nil)
	if bytes.Equal(a1, c1) {
		t.Error("rcode not in the key")
	}
}

func BenchmarkFlowKey(b *testing.B) {
	l := []byte(baseFlow)
	k := &flowKeyer{levels: Levels{2, 1}, groupByPolicy: true}
	var f schema.Flow
	var key []byte
	b.ReportAllocs()
	for b.Loop() {
		if err := schema.ParseFlow(l, &f); err != nil {
			b.Fatal(err)
		}
		key, _ = k.key(key[:0], &f)
	}
}
