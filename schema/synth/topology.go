package synth

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
)

// workload kinds.
const (
	kindDeployment = iota
	kindStatefulSet
	kindDaemonSet
	kindJob
)

type pod struct {
	name, aggr string // pod name and name_aggr (generateName + "*", §2.2)
	ip         string
	node       int
	w          *workload
}

type service struct {
	name, ns, portName string
	port, targetPort   int
	proto              string
	clusterIP          string
}

type workload struct {
	name, ns string
	kind     int
	labels   []string // "k=v", shared by every pod
	pods     []*pod
	svc      *service
	process  string
}

// external is an endpoint outside the cluster.
type external struct {
	ip, domain string
	public     bool
}

// topology is the simulated cluster; built once from the seed.
type topology struct {
	namespaces []string
	workloads  []*workload
	dns        *workload // coredns
	externals  []external
	nodes      int
}

var (
	nsNames = []string{"shop", "payments", "tools", "ci", "monitoring", "logging", "ingress-nginx", "auth",
		"search", "orders", "inventory", "catalog", "billing", "analytics", "data", "ml", "mail",
		"notifications", "frontend", "platform"}
	wlPrefixes = []string{"cart", "checkout", "storefront", "payments", "orders", "inventory", "catalog",
		"search", "auth", "user", "billing", "shipping", "email", "notification", "recommendation", "ads",
		"currency", "review", "image", "media", "report", "analytics", "metrics", "config", "gateway",
		"session", "profile", "pricing", "fraud", "ledger"}
	wlSuffixes = []string{"api", "svc", "worker", "db", "cache", "web", "frontend", "backend", "processor",
		"sync", "consumer", "proxy"}
	processes = []string{"java", "python3", "node", "envoy", "nginx", "gunicorn", "postgres", "redis-server"}
	domains   = []string{"api.github.com", "registry.example.org", "s3.amazonaws.com", "pypi.org",
		"api.stripe.com", "hooks.slack.com", "login.microsoftonline.com", "storage.googleapis.com",
		"api.segment.io", "sentry.io", "ghcr.io", "proxy.golang.org"}
)

// k8sAlphabet is the alphabet of ReplicaSet hashes and pod suffixes.
const k8sAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func randString(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = k8sAlphabet[r.IntN(len(k8sAlphabet))]
	}
	return string(b)
}

func newTopology(cfg Config, r *rand.Rand) *topology {
	t := &topology{nodes: cfg.Nodes}
	t.namespaces = append(t.namespaces, "kube-system")
	for i := 0; len(t.namespaces) < cfg.Namespaces; i++ {
		name := fmt.Sprintf("team-%d", i)
		if i < len(nsNames) {
			name = nsNames[i]
		}
		t.namespaces = append(t.namespaces, name)
	}
	ips := &ipAlloc{perNode: make([]int, cfg.Nodes)}
	t.dns = t.addWorkload(cfg, r, ips, "coredns", "kube-system", kindDeployment)
	t.dns.labels = []string{"k8s-app=kube-dns", "pod-template-hash=" + t.dns.labels[1][len("pod-template-hash="):]}
	t.dns.svc = &service{name: "kube-dns", ns: "kube-system", portName: "dns", port: 53, targetPort: 53, proto: "udp", clusterIP: "10.43.0.10"}
	seen := map[string]bool{"kube-system/coredns": true}
	for len(t.workloads) < cfg.Workloads {
		ns := t.namespaces[r.IntN(len(t.namespaces))]
		suffix := wlSuffixes[r.IntN(len(wlSuffixes))]
		name := wlPrefixes[r.IntN(len(wlPrefixes))] + "-" + suffix
		if seen[ns+"/"+name] {
			name += "-" + strconv.Itoa(len(t.workloads))
		}
		seen[ns+"/"+name] = true
		kind := kindDeployment
		switch u := r.Float64(); {
		case suffix == "db" || suffix == "cache":
			kind = kindStatefulSet
		case u < 0.05:
			kind = kindDaemonSet
		case u < 0.12:
			kind = kindJob
		}
		w := t.addWorkload(cfg, r, ips, name, ns, kind)
		if (kind == kindDeployment || kind == kindStatefulSet) && r.Float64() < 0.85 {
			w.svc = newService(r, w, suffix, len(t.workloads))
		}
	}
	for i, d := range domains {
		t.externals = append(t.externals, external{ip: fmt.Sprintf("203.0.113.%d", 10+i*7), domain: d, public: true})
	}
	for i := range 4 {
		t.externals = append(t.externals, external{ip: fmt.Sprintf("192.168.%d.%d", 10+i, 20+i)})
	}
	return t
}

func (t *topology) addWorkload(cfg Config, r *rand.Rand, ips *ipAlloc, name, ns string, kind int) *workload {
	w := &workload{name: name, ns: ns, kind: kind, process: processes[r.IntN(len(processes))]}
	w.labels = []string{"app=" + name}
	n := 1 + r.IntN(cfg.MaxPodsPerWorkload)
	switch kind {
	case kindDeployment:
		hash := randString(r, 9+r.IntN(2))
		w.labels = append(w.labels, "pod-template-hash="+hash)
		for range n {
			w.addPod(name+"-"+hash+"-"+randString(r, 5), name+"-"+hash+"-*", r.IntN(cfg.Nodes), ips)
		}
	case kindStatefulSet:
		for i := range n {
			w.addPod(name+"-"+strconv.Itoa(i), name+"-*", r.IntN(cfg.Nodes), ips)
		}
	case kindDaemonSet:
		w.labels = append(w.labels, "controller-revision-hash="+randString(r, 10))
		for node := range cfg.Nodes {
			w.addPod(name+"-"+randString(r, 5), name+"-*", node, ips)
		}
	case kindJob:
		id := strconv.Itoa(28811460 + r.IntN(10000))
		w.labels = append(w.labels, "job-name="+name+"-"+id)
		w.addPod(name+"-"+id+"-"+randString(r, 5), name+"-"+id+"-*", r.IntN(cfg.Nodes), ips)
	}
	if r.IntN(3) == 0 {
		w.labels = append(w.labels, "tier="+[]string{"frontend", "backend", "data"}[r.IntN(3)])
	}
	t.workloads = append(t.workloads, w)
	return w
}

func (w *workload) addPod(name, aggr string, node int, ips *ipAlloc) {
	w.pods = append(w.pods, &pod{name: name, aggr: aggr, ip: ips.next(node), node: node, w: w})
}

// podLabels returns the labels of p; StatefulSet pods also carry their name.
func (p *pod) labels() []string {
	if p.w.kind == kindStatefulSet {
		return append(slices.Clip(p.w.labels), "statefulset.kubernetes.io/pod-name="+p.name)
	}
	return p.w.labels
}

func newService(r *rand.Rand, w *workload, suffix string, i int) *service {
	s := &service{name: w.name, ns: w.ns, portName: "http", port: 80, targetPort: 8080, proto: "tcp",
		clusterIP: fmt.Sprintf("10.43.%d.%d", 1+i/250, 2+i%250)}
	switch {
	case suffix == "db":
		s.portName, s.port, s.targetPort = "postgres", 5432, 5432
	case suffix == "cache":
		s.portName, s.port, s.targetPort = "redis", 6379, 6379
	case r.IntN(5) == 0:
		s.portName, s.port, s.targetPort = "grpc", 9090, 9090
	case r.IntN(8) == 0:
		s.portName = "" // an unnamed port: dest_service_port "-"
	}
	return s
}

// ipAlloc hands out pod IPs from 10.42.<node>.0/24 (continuing in
// 10.44.<node>.0/24 and up when a node has more than 250 pods).
type ipAlloc struct{ perNode []int }

func (a *ipAlloc) next(node int) string {
	k := a.perNode[node]
	a.perNode[node]++
	return netip.AddrFrom4([4]byte{10, byte(42 + 2*(k/250)), byte(node), byte(2 + k%250)}).String()
}
