package auth

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func ep(typ, ns string) Endpoint { return Endpoint{Type: typ, Namespace: ns} }

// shopAccess is what ui.rbac "shop" (elasticsearch mode) grants.
func shopAccess() Access { return NamespaceAccess(SomeNamespaces("shop")) }

func TestFlowVisible(t *testing.T) {
	hepOnly := Access{HostEndpoints: true}
	globalSets := Access{GlobalNetworkSets: true}
	setsInShop := Access{NetworkSets: SomeNamespaces("shop")}
	podsAll := Access{Pods: AllNamespaces()}
	cases := []struct {
		name     string
		acc      Access
		src, dst Endpoint
		want     bool
	}{
		// The rule, case by case (issue 11): one listable endpoint is enough.
		{"shop pod to other pod", shopAccess(), ep("wep", "shop"), ep("wep", "other"), true},
		{"other pod to shop pod", shopAccess(), ep("wep", "other"), ep("wep", "shop"), true},
		{"other to other", shopAccess(), ep("wep", "other"), ep("wep", "other2"), false},
		{"shop pod to net", shopAccess(), ep("wep", "shop"), ep("net", "-"), true},
		{"net to net never", FullAccess(), ep("net", "-"), ep("net", "-"), false},
		{"net named like shop grants nothing", shopAccess(), ep("net", "shop"), ep("wep", "other"), false},
		{"hep without hep access", shopAccess(), ep("hep", "-"), ep("wep", "other"), false},
		{"hep with hep access", hepOnly, ep("hep", "-"), ep("wep", "other"), true},
		{"global network set without access", shopAccess(), ep("ns", "-"), ep("wep", "other"), false},
		{"global network set with access", globalSets, ep("wep", "other"), ep("ns", "-"), true},
		{"namespaced network set in shop", setsInShop, ep("ns", "shop"), ep("wep", "other"), true},
		{"network sets in shop do not grant shop pods", setsInShop, ep("wep", "shop"), ep("net", "-"), false},
		{"shop pods do not grant global sets", shopAccess(), ep("ns", "-"), ep("net", "-"), false},
		{"all pods still not a pod in '-'", podsAll, ep("wep", "-"), ep("net", "-"), false},
		{"all pods, any namespace", podsAll, ep("wep", "zzz"), ep("net", "-"), true},
		{"unknown type", FullAccess(), ep("pod", "shop"), ep("", "shop"), false},
		{"zero access sees nothing", Access{}, ep("wep", "shop"), ep("hep", "-"), false},
		{"full access", FullAccess(), ep("hep", "-"), ep("ns", "-"), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.acc.FlowVisible(c.src, c.dst); got != c.want {
				t.Errorf("FlowVisible(%v, %v) = %v, want %v", c.src, c.dst, got, c.want)
			}
		})
	}
}

func TestNamespaces(t *testing.T) {
	n := SomeNamespaces("b", "a", "b")
	if strings.Join(n.Names, ",") != "a,b" {
		t.Fatalf("SomeNamespaces = %v, want sorted, deduplicated [a b]", n.Names)
	}
	if !n.Has("a") || n.Has("c") || n.Has("-") || n.Has("") {
		t.Errorf("Has wrong on %v", n.Names)
	}
	if u := n.Union(SomeNamespaces("c")); strings.Join(u.Names, ",") != "a,b,c" || u.All {
		t.Errorf("Union = %+v", u)
	}
	if !n.Union(AllNamespaces()).All {
		t.Error("union with All is not All")
	}
	if !(Namespaces{}).Empty() || n.Empty() || AllNamespaces().Empty() {
		t.Error("Empty wrong")
	}
}

func TestRBACAccessOf(t *testing.T) {
	var cfg struct {
		RBAC RBAC `yaml:"rbac"`
	}
	src := "rbac:\n  flowship_ui_shop: [shop, shop-staging]\n  flowship_ui_pay: [pay]\n  flowship_ui_all: all\n"
	if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.RBAC.Validate(); err != nil {
		t.Fatal(err)
	}
	a := cfg.RBAC.AccessOf([]string{"flowship_ui_shop", "flowship_ui_pay", "unmapped"})
	if got := strings.Join(a.Pods.Names, ","); got != "pay,shop,shop-staging" || a.Pods.All {
		t.Errorf("pods = %+v, want pay,shop,shop-staging", a.Pods)
	}
	if a.HostEndpoints || a.GlobalNetworkSets || a.Policies.Global {
		t.Errorf("namespace roles granted something global: %+v", a)
	}
	if !a.CanList(ep("ns", "pay")) || !PolicyReadable(&Principal{Access: a}, "security", "pay") {
		t.Error("a namespace role grants its network sets and its policies")
	}
	if !cfg.RBAC.AccessOf([]string{"flowship_ui_all"}).SeesAllFlows() {
		t.Error("role mapped to all does not see all flows")
	}
	if a := cfg.RBAC.AccessOf([]string{"superuser"}); a.Pods.All || len(a.Pods.Names) > 0 || a.HostEndpoints {
		t.Errorf("an unmapped role granted %+v", a)
	}
}

func TestRBACBad(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"scalar other than all", "rbac:\n  r: everything\n", `"everything": want "all"`},
		{"mapping", "rbac:\n  r: {shop: true}\n", "line 2"},
		{"bad namespace", "rbac:\n  r: [Shop_1]\n", `ui.rbac.r: namespace "Shop_1"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var cfg struct {
				RBAC RBAC `yaml:"rbac"`
			}
			err := yaml.Unmarshal([]byte(c.src), &cfg)
			if err == nil {
				err = cfg.RBAC.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	if err := ok.Validate("127.0.0.1:9090"); err != nil {
		t.Fatalf("defaults on loopback: %v", err)
	}
	cases := []struct {
		name   string
		listen string
		mod    func(*Config)
		want   string
	}{
		{"none on all interfaces", ":9090", func(*Config) {}, "ui.auth.mode none: ui.listen \":9090\" is not a loopback"},
		{"none on a pod address", "10.0.0.5:9090", func(*Config) {}, "not a loopback"},
		{"unknown mode", "127.0.0.1:1", func(c *Config) { c.Mode = "ldap" }, `ui.auth.mode "ldap"`},
		{"short session", "127.0.0.1:1", func(c *Config) { c.SessionTTL = time.Second }, "ui.auth.session_ttl"},
		{"cache longer than session", "127.0.0.1:1", func(c *Config) { c.CacheTTL = 9 * time.Hour }, "ui.auth.cache_ttl"},
		{"no failures allowed", "127.0.0.1:1", func(c *Config) { c.MaxFailures = 0 }, "ui.auth.max_failures"},
		{"kube bad url", "0.0.0.0:1", func(c *Config) { c.Mode = ModeKubernetes; c.Kubernetes.APIServer = "kubernetes" }, "ui.auth.kubernetes.api_server"},
		{"kube concurrency", "0.0.0.0:1", func(c *Config) { c.Mode = ModeKubernetes; c.Kubernetes.Concurrency = 0 }, "ui.auth.kubernetes.concurrency"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.mod(&cfg)
			err := cfg.Validate(c.listen)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate = %v, want it to contain %q", err, c.want)
			}
		})
	}
	for _, l := range []string{"127.0.0.1:9090", "[::1]:9090", "localhost:9090", "127.1.2.3:1"} {
		if !IsLoopback(l) {
			t.Errorf("IsLoopback(%q) = false", l)
		}
	}
	for _, l := range []string{":9090", "0.0.0.0:9090", "[::]:9090", "example.com:80", "127.0.0.1"} {
		if IsLoopback(l) {
			t.Errorf("IsLoopback(%q) = true", l)
		}
	}
}

func TestConfigStrictYAML(t *testing.T) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader("mode: kubernetes\nsesion_ttl: 1h\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil || !strings.Contains(err.Error(), "sesion_ttl") {
		t.Errorf("unknown key accepted or not named: %v", err)
	}
}
