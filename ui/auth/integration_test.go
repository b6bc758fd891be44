//go:build integration

package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	goes "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/flowship/flowship/pipeline/pipelinetest/testenv"
)

// fixtureDoc is one flow document of the RBAC fixture. bytes_in are
// distinct powers of two times 10, so every sum names its documents.
type fixtureDoc struct {
	id       string
	src, dst Endpoint
	srcName  string
	labels   []string // source labels
	policies []string // enforced_policies
}

func rbacFixture() []fixtureDoc {
	return []fixtureDoc{
		{"shop-other", ep("wep", "shop"), ep("wep", "other"), "web-*", []string{"app=web"}, []string{"0|default|other/default.deny-all|deny|2", "1|default|shop/default.web|allow|0"}},
		{"other-shop", ep("wep", "other"), ep("wep", "shop"), "batch-*", []string{"app=batch"}, []string{"0|security|security.base|pass|-1", "1|default|shop/default.web|allow|0"}},
		{"shop-net", ep("wep", "shop"), ep("net", "-"), "web-*", []string{"app=web"}, []string{"0|default|shop/default.egress|allow|1"}},
		{"other-other", ep("wep", "other"), ep("wep", "other"), "db-*", []string{"app=db"}, []string{"0|default|other/default.secret-db|allow|0"}},
		{"hep-other", ep("hep", "-"), ep("wep", "other"), "node-1", []string{"kubernetes.io/hostname=node-1"}, []string{"0|security|security.hosts|allow|0"}},
		{"gns-other", ep("ns", "-"), ep("wep", "other"), "scanners", nil, []string{"0|security|security.block|deny|0"}},
		{"shopset-other", ep("ns", "shop"), ep("wep", "other"), "shop-partners", nil, []string{"0|default|other/default.partners|allow|0"}},
		{"net-other", ep("net", "-"), ep("wep", "other"), "pub", nil, []string{"0|default|other/default.public|allow|0"}},
		{"other-otherset", ep("wep", "other"), ep("ns", "other"), "db-*", []string{"app=db"}, []string{"0|default|other/default.out|allow|0"}},
		{"net-shop", ep("net", "-"), ep("wep", "shop"), "pub", nil, []string{"0|default|shop/default.web|allow|0"}},
		{"otherset-net", ep("ns", "other"), ep("net", "-"), "other-set", nil, []string{"0|__PROFILE__|__PROFILE__.kns.other|allow|0"}},
		{"hep-shop", ep("hep", "-"), ep("wep", "shop"), "node-2", []string{"kubernetes.io/hostname=node-2"}, []string{"0|__PROFILE__|__PROFILE__.kns.shop|allow|0"}},
	}
}

func bytesOf(i int) int64 { return 10 << i }

const rbacMapping = `{"settings":{"number_of_replicas":0,"number_of_shards":1},"mappings":{"dynamic":"strict","properties":{
"source_type":{"type":"keyword"},"source_namespace":{"type":"keyword"},"source_name_aggr":{"type":"keyword"},
"dest_type":{"type":"keyword"},"dest_namespace":{"type":"keyword"},"bytes_in":{"type":"long"},
"source_labels":{"type":"nested","properties":{"labels":{"type":"keyword"}}},
"policies":{"properties":{"enforced_policies":{"type":"keyword"}}}}}}`

// rbacEnv is the fixture in the real Elasticsearch: a daily-style index
// behind a read alias (both under flowship-*, where the test users' roles
// read), and a secret index outside the roles.
type rbacEnv struct {
	admin         *goes.Client
	alias, secret string
}

func setupRBACIndex(t *testing.T) rbacEnv {
	t.Helper()
	admin := testenv.ESClient(t)
	ctx := context.Background()
	name := testenv.UniqueName(t, "flowship-flows")
	env := rbacEnv{admin: admin, alias: name, secret: testenv.UniqueName(t, "secret")}
	index := name + "-2026.12.03"
	esDo(t, admin, esapi.IndicesCreateRequest{Index: index, Body: strings.NewReader(rbacMapping)}, 200)
	esDo(t, admin, esapi.IndicesCreateRequest{Index: env.secret}, 200)
	t.Cleanup(func() {
		res, err := esapi.IndicesDeleteRequest{Index: []string{index, env.secret}}.Do(ctx, admin)
		if err == nil {
			res.Body.Close()
		}
	})
	esDo(t, admin, esapi.IndicesPutAliasRequest{Index: []string{index}, Name: env.alias}, 200)
	var bulk bytes.Buffer
	for i, d := range rbacFixture() {
		doc := map[string]any{"source_type": d.src.Type, "source_namespace": d.src.Namespace, "source_name_aggr": d.srcName,
			"dest_type": d.dst.Type, "dest_namespace": d.dst.Namespace, "bytes_in": bytesOf(i),
			"source_labels": map[string]any{"labels": d.labels}, "policies": map[string]any{"enforced_policies": d.policies}}
		b, _ := json.Marshal(doc)
		fmt.Fprintf(&bulk, "{\"create\":{\"_index\":%q,\"_id\":%q}}\n%s\n", index, d.id, b)
	}
	fmt.Fprintf(&bulk, "{\"create\":{\"_index\":%q,\"_id\":\"s\"}}\n{\"secret\":true}\n", env.secret)
	out := esDo(t, admin, esapi.BulkRequest{Body: &bulk, Refresh: "true"}, 200)
	if strings.Contains(string(out), `"errors":true`) {
		t.Fatalf("bulk: %s", out)
	}
	return env
}

func esDo(t *testing.T, c *goes.Client, req esapi.Request, want int) []byte {
	t.Helper()
	res, err := req.Do(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%T: %d %s", req, res.StatusCode, b)
	}
	return b
}

// TestESFilterMatchesTheRule runs FilterFor for several access shapes on
// the real Elasticsearch and checks the documents it keeps are exactly
// those Access.FlowVisible keeps (the Go rule is the oracle, itself
// table-tested by hand in TestFlowVisible).
func TestESFilterMatchesTheRule(t *testing.T) {
	env := setupRBACIndex(t)
	shapes := map[string]Access{
		"shop":         shopAccess(),
		"full":         FullAccess(),
		"nothing":      {},
		"hep only":     {HostEndpoints: true},
		"global sets":  {GlobalNetworkSets: true},
		"sets in shop": {NetworkSets: SomeNamespaces("shop")},
		"all pods":     {Pods: AllNamespaces()},
		"other+sets":   {Pods: SomeNamespaces("other", "nowhere"), NetworkSets: AllNamespaces()},
	}
	for name, acc := range shapes {
		t.Run(name, func(t *testing.T) {
			var want []string
			for _, d := range rbacFixture() {
				if acc.FlowVisible(d.src, d.dst) {
					want = append(want, d.id)
				}
			}
			q := map[string]any{"size": 100, "_source": false, "query": map[string]any{"bool": map[string]any{"filter": nonNil(FilterFor(&Principal{Access: acc}, FlowFields()))}}}
			got := searchIDs(t, env.admin, env.alias, q)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Elasticsearch kept %v\nthe rule keeps     %v", got, want)
			}
		})
	}
}

func nonNil(c map[string]any) []any {
	if c == nil {
		return []any{}
	}
	return []any{c}
}

func searchIDs(t *testing.T, c *goes.Client, index string, q any) []string {
	t.Helper()
	b, _ := json.Marshal(q)
	out := esDo(t, c, esapi.SearchRequest{Index: []string{index}, Body: bytes.NewReader(b)}, 200)
	var r struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range r.Hits.Hits {
		ids = append(ids, h.ID)
	}
	slices.Sort(ids)
	return ids
}

// miniAPI is the shape of the ui's API for this test: every request goes
// through Require, its query ANDs FilterFor with the request's own
// filters, it runs AS the user (a.Transport) and redacts policy names.
func miniAPI(t *testing.T, a *Authenticator, alias string) http.Handler {
	es, err := goes.NewClient(goes.Config{Addresses: []string{testenv.Elasticsearch(t).URL}, Transport: a.Transport(http.DefaultTransport)})
	if err != nil {
		t.Fatal(err)
	}
	return a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := FromContext(r.Context())
		v := r.URL.Query()
		filter := nonNil(FilterFor(p, FlowFields()))
		if ns := v.Get("namespace"); ns != "" {
			filter = append(filter, map[string]any{"bool": map[string]any{"should": []any{
				map[string]any{"term": map[string]any{"source_namespace": ns}}, map[string]any{"term": map[string]any{"dest_namespace": ns}}}, "minimum_should_match": 1}})
		}
		if l := v.Get("label"); l != "" {
			filter = append(filter, map[string]any{"nested": map[string]any{"path": "source_labels", "query": map[string]any{"term": map[string]any{"source_labels.labels": l}}}})
		}
		if n := v.Get("name"); n != "" {
			filter = append(filter, map[string]any{"wildcard": map[string]any{"source_name_aggr": n}})
		}
		index := alias
		if v.Get("index") != "" {
			index = v.Get("index") // to show that Elasticsearch's own privileges apply to the user
		}
		from, _ := strconv.Atoi(v.Get("from"))
		q := map[string]any{"from": from, "size": 5, "track_total_hits": true, "sort": []any{"_doc"},
			"query": map[string]any{"bool": map[string]any{"filter": filter}},
			"aggs": map[string]any{"bytes": map[string]any{"sum": map[string]any{"field": "bytes_in"}},
				"policies": map[string]any{"terms": map[string]any{"field": "policies.enforced_policies", "size": 100}},
				"src_ns":   map[string]any{"terms": map[string]any{"field": "source_namespace", "size": 100}}}}
		body, _ := json.Marshal(q)
		res, err := es.Search(es.Search.WithContext(r.Context()), es.Search.WithIndex(index), es.Search.WithBody(bytes.NewReader(body)))
		if err != nil {
			writeJSON(w, 502, map[string]string{"error": "query failed"})
			return
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			writeJSON(w, res.StatusCode, map[string]string{"error": "elasticsearch refused"})
			return
		}
		var sr struct {
			Hits struct {
				Total struct{ Value int64 } `json:"total"`
				Hits  []struct {
					ID     string          `json:"_id"`
					Source json.RawMessage `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
			Aggs struct {
				Bytes    struct{ Value float64 } `json:"bytes"`
				Policies struct {
					Buckets []struct {
						Key   string `json:"key"`
						Count int64  `json:"doc_count"`
					} `json:"buckets"`
				} `json:"policies"`
				SrcNS struct {
					Buckets []struct {
						Key   string `json:"key"`
						Count int64  `json:"doc_count"`
					} `json:"buckets"`
				} `json:"src_ns"`
			} `json:"aggregations"`
		}
		if err := json.Unmarshal(raw, &sr); err != nil {
			writeJSON(w, 500, map[string]string{"error": err.Error()})
			return
		}
		out := apiAnswer{Total: sr.Hits.Total.Value, Bytes: int64(sr.Aggs.Bytes.Value), SrcNS: map[string]int64{}}
		for _, h := range sr.Hits.Hits {
			doc, err := RedactSource(p, h.Source)
			if err != nil {
				writeJSON(w, 500, map[string]string{"error": err.Error()})
				return
			}
			out.IDs = append(out.IDs, h.ID)
			out.Docs = append(out.Docs, doc)
		}
		counts := map[string]int64{}
		for _, b := range sr.Aggs.Policies.Buckets {
			counts[b.Key] = b.Count
		}
		out.Policies = RedactPolicyCounts(p, counts)
		for _, b := range sr.Aggs.SrcNS.Buckets {
			out.SrcNS[b.Key] = b.Count
		}
		writeJSON(w, 200, out)
	}))
}

type apiAnswer struct {
	Total    int64             `json:"total"`
	Bytes    int64             `json:"bytes"`
	IDs      []string          `json:"ids"`
	Docs     []json.RawMessage `json:"docs"`
	Policies map[string]int64  `json:"policies"`
	SrcNS    map[string]int64  `json:"src_ns"`
}

// fileRealmUsers returns the real Elasticsearch and deploy/local's two
// file-realm test users (shop, all) with their passwords; it skips t when
// the node runs without security.
func fileRealmUsers(t *testing.T) (es testenv.ES, shopUser, shopPW, allUser, allPW string) {
	t.Helper()
	es = testenv.Elasticsearch(t)
	if es.Username == "" {
		t.Skip("Elasticsearch runs without security (FLOWSHIP_ES_SECURITY=off): no users to sign in")
	}
	shopUser, shopPW = os.Getenv("FLOWSHIP_ES_USER_SHOP"), os.Getenv("FLOWSHIP_ES_PASSWORD_SHOP")
	allUser, allPW = os.Getenv("FLOWSHIP_ES_USER_ALL"), os.Getenv("FLOWSHIP_ES_PASSWORD_ALL")
	if shopUser == "" || allUser == "" {
		t.Fatalf("FLOWSHIP_ES_USER_SHOP / FLOWSHIP_ES_USER_ALL unset: run `%s` (deploy/local creates the test users)", testenv.StartHint)
	}
	return es, shopUser, shopPW, allUser, allPW
}

// TestElasticsearchModeUsers signs the two file-realm users of
// deploy/local in through the real _security/_authenticate, queries AS
// them with the filter applied and tries to reach other namespaces.
func TestElasticsearchModeUsers(t *testing.T) {
	env := setupRBACIndex(t)
	es, shopUser, shopPW, allUser, allPW := fileRealmUsers(t)
	a, clk := newTestAuth(t, esModeConfig(), Options{Listen: ":9090", Elasticsearch: ESEndpoint{URL: es.URL},
		RBAC: RBAC{"flowship_ui_shop": {Namespaces: []string{"shop"}}, "flowship_ui_all": {All: true}}}, nil)
	mux := http.NewServeMux()
	a.Mount(mux, "/")
	mux.Handle("GET /api/flows", miniAPI(t, a, env.alias))
	srv := httptestServer(t, mux)

	shop := signIn(t, srv, fmt.Sprintf(`{"username":%q,"password":%q}`, shopUser, shopPW))
	all := signIn(t, srv, fmt.Sprintf(`{"username":%q,"password":%q}`, allUser, allPW))
	if got := do(t, "POST", srv+"/auth/signin", fmt.Sprintf(`{"username":%q,"password":"wrong-password"}`, shopUser), nil); got.status != 401 {
		t.Errorf("wrong password: %d %s", got.status, got.body)
	}

	get := func(s signedIn, query string) apiAnswer {
		t.Helper()
		got := do(t, "GET", srv+"/api/flows?"+query, "", nil, s.session)
		if got.status != 200 {
			t.Fatalf("GET ?%s: %d %s", query, got.status, got.body)
		}
		var ans apiAnswer
		if err := json.Unmarshal([]byte(got.body), &ans); err != nil {
			t.Fatal(err)
		}
		return ans
	}
	// Hand-computed from rbacFixture: A (shop) sees documents 0,1,2,6,9,11.
	shopIDs := []string{"shop-other", "other-shop", "shop-net", "shopset-other", "net-shop", "hep-shop"}
	shopBytes := bytesOf(0) + bytesOf(1) + bytesOf(2) + bytesOf(6) + bytesOf(9) + bytesOf(11)
	var allBytes int64
	for i := range rbacFixture() {
		allBytes += bytesOf(i)
	}

	cases := []struct {
		query     string
		total     int64
		bytes     int64
		wantFirst []string // the ids of the first page (size 5, index order)
	}{
		{"", 6, shopBytes, shopIDs[:5]},
		{"from=5", 6, shopBytes, shopIDs[5:]},
		{"from=6", 6, shopBytes, nil},
		{"from=50", 6, shopBytes, nil},
		{"namespace=other", 3, bytesOf(0) + bytesOf(1) + bytesOf(6), []string{"shop-other", "other-shop", "shopset-other"}},
		{"label=app%3Ddb", 0, 0, nil},
		{"label=app%3Dbatch", 1, bytesOf(1), []string{"other-shop"}},
		{"name=*", 6, shopBytes, shopIDs[:5]},
		{"name=db-*", 0, 0, nil},
		{"name=node-*", 1, bytesOf(11), []string{"hep-shop"}},
	}
	for _, c := range cases {
		t.Run("shop "+c.query, func(t *testing.T) {
			ans := get(shop, c.query)
			if ans.Total != c.total || ans.Bytes != c.bytes || !slices.Equal(ans.IDs, c.wantFirst) {
				t.Errorf("total %d bytes %d ids %v\nwant  %d       %d     %v", ans.Total, ans.Bytes, ans.IDs, c.total, c.bytes, c.wantFirst)
			}
			var sum int64
			for _, n := range ans.SrcNS {
				sum += n
			}
			if sum != c.total {
				t.Errorf("source namespace counts %v add up to %d, not the total %d", ans.SrcNS, sum, c.total)
			}
			assertNoHiddenNames(t, ans)
		})
	}
	// A's policy counts: other's and global policy names hidden under
	// idx|*|*|action|*, counts kept (hand-computed from the fixture).
	wantPolicies := map[string]int64{
		"0|*|*|deny|*": 1, "1|default|shop/default.web|allow|0": 2, "0|*|*|pass|*": 1,
		"0|default|shop/default.egress|allow|1": 1, "0|*|*|allow|*": 1, "0|default|shop/default.web|allow|0": 1,
		"0|__PROFILE__|__PROFILE__.kns.shop|allow|0": 1,
	}
	if got := get(shop, "").Policies; !mapsEqual(got, wantPolicies) {
		t.Errorf("shop's policy counts %v\nwant %v", got, wantPolicies)
	}

	b := get(all, "")
	if b.Total != 12 || b.Bytes != allBytes {
		t.Errorf("all: total %d bytes %d, want 12 and %d", b.Total, b.Bytes, allBytes)
	}
	if got := get(all, "namespace=other"); got.Total != 9 {
		t.Errorf("all, namespace=other: %d, want 9", got.Total)
	}
	if b.Policies["0|default|other/default.secret-db|allow|0"] != 1 {
		t.Errorf("all does not see other's policy names: %v", b.Policies)
	}

	// Queries run as the user: Elasticsearch refuses A an index outside its role...
	if got := do(t, "GET", srv+"/api/flows?index="+env.secret, "", nil, shop.session); got.status != 403 || strings.Contains(got.body, "secret") {
		t.Errorf("shop user reading %s: %d %s, want Elasticsearch's 403", env.secret, got.status, got.body)
	}
	// ... which flowship's own superuser can read.
	esDo(t, env.admin, esapi.SearchRequest{Index: []string{env.secret}}, 200)

	// Bad input: no cookie, forged cookie, CSRF missing, expired session.
	for name, ans := range map[string]answer{
		"no cookie":     do(t, "GET", srv+"/api/flows", "", nil),
		"forged cookie": do(t, "GET", srv+"/api/flows", "", nil, &http.Cookie{Name: SessionCookie, Value: shop.token}),
	} {
		assertNoFlows(t, name, ans, 401)
	}
	assertNoFlows(t, "CSRF missing", do(t, "POST", srv+"/auth/signout", "", nil, shop.session), 403)
	clk.add(a.cfg.SessionTTL)
	assertNoFlows(t, "expired session", do(t, "GET", srv+"/api/flows", "", nil, all.session), 401)
}

func assertNoFlows(t *testing.T, what string, a answer, status int) {
	t.Helper()
	if a.status != status || strings.Contains(a.body, "_namespace") || strings.Contains(a.body, "total") {
		t.Errorf("%s: %d %s, want %d without data", what, a.status, a.body, status)
	}
}

// assertNoHiddenNames: no policy of namespace other and no global policy
// name reaches user A, in documents or counts.
func assertNoHiddenNames(t *testing.T, ans apiAnswer) {
	t.Helper()
	all, _ := json.Marshal(ans)
	for _, s := range []string{"other/", "security.", "kns.other", "deny-all", "default.partners"} {
		if bytes.Contains(all, []byte(s)) {
			t.Errorf("%q leaked to the shop user: %s", s, all)
		}
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestESReadableHitsMatchesPolicyReadable checks ReadableHits on the real
// Elasticsearch against PolicyReadable (hand-tested in TestRedactPolicy)
// over every tier × namespace combination of a small set of hits.
func TestESReadableHitsMatchesPolicyReadable(t *testing.T) {
	admin := testenv.ESClient(t)
	index := testenv.UniqueName(t, "flowship-hits")
	esDo(t, admin, esapi.IndicesCreateRequest{Index: index, Body: strings.NewReader(`{"settings":{"number_of_replicas":0},` +
		`"mappings":{"properties":{"policy_hits":{"properties":{"tier":{"type":"keyword"},"namespace":{"type":"keyword"}}}}}}`)}, 200)
	t.Cleanup(func() {
		if res, err := (esapi.IndicesDeleteRequest{Index: []string{index}}).Do(context.Background(), admin); err == nil {
			res.Body.Close()
		}
	})
	type hit struct{ id, tier, ns string }
	var hits []hit
	var bulk bytes.Buffer
	for _, tier := range []string{"default", "security", "__PROFILE__"} {
		for _, ns := range []string{"", "shop", "other"} {
			h := hit{fmt.Sprintf("%s.%s", tier, ns), tier, ns}
			hits = append(hits, h)
			fmt.Fprintf(&bulk, "{\"create\":{\"_index\":%q,\"_id\":%q}}\n{\"policy_hits\":{\"tier\":%q,\"namespace\":%q}}\n", index, h.id, tier, ns)
		}
	}
	esDo(t, admin, esapi.BulkRequest{Body: &bulk, Refresh: "true"}, 200)
	shapes := map[string]PolicyAccess{
		"shop (elasticsearch mode)": shopAccess().Policies,
		"shop, tier default":        {Namespaces: SomeNamespaces("shop"), Tiers: SomeNamespaces("default")},
		"global only":               {Global: true, Tiers: AllNamespaces()},
		"global, tier security":     {Global: true, Tiers: SomeNamespaces("security")},
		"all namespaces, no global": {Namespaces: AllNamespaces(), Tiers: AllNamespaces()},
		"no tiers":                  {Namespaces: SomeNamespaces("shop"), Global: true},
		"nothing":                   {},
		"full":                      FullAccess().Policies,
	}
	for name, pa := range shapes {
		t.Run(name, func(t *testing.T) {
			p := &Principal{Access: Access{Policies: pa}}
			var want []string
			for _, h := range hits {
				if PolicyReadable(p, h.tier, h.ns) {
					want = append(want, h.id)
				}
			}
			slices.Sort(want)
			q := map[string]any{"size": 100, "query": map[string]any{"bool": map[string]any{"filter": nonNil(ReadableHits(p, PolicyHitFields()))}}}
			if got := searchIDs(t, admin, index, q); !slices.Equal(got, want) {
				t.Errorf("Elasticsearch kept %v\nPolicyReadable keeps %v", got, want)
			}
		})
	}
}

// httptestServer serves h for the test and returns its URL.
func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestElasticsearchModeSessionAcrossReplicas: a user signs in on replica
// A; replica B, with the same session key and no state of A's, queries
// the real Elasticsearch as that user from the cookie alone (same six
// documents as on A); a replica with another key refuses the cookie.
func TestElasticsearchModeSessionAcrossReplicas(t *testing.T) {
	env := setupRBACIndex(t)
	es, shopUser, shopPW, _, _ := fileRealmUsers(t)
	cfg := esModeConfig()
	cfg.SessionKeyFile = keyFile(t, key(3))
	other := cfg
	other.SessionKeyFile = keyFile(t, key(4))
	server := func(cfg Config) string {
		a, _ := newTestAuth(t, cfg, Options{Listen: ":9090", Elasticsearch: ESEndpoint{URL: es.URL},
			RBAC: RBAC{"flowship_ui_shop": {Namespaces: []string{"shop"}}}}, nil)
		mux := http.NewServeMux()
		a.Mount(mux, "/")
		mux.Handle("GET /api/flows", miniAPI(t, a, env.alias))
		return httptestServer(t, mux)
	}
	srvA, srvB, srvC := server(cfg), server(cfg), server(other)
	shop := signIn(t, srvA, fmt.Sprintf(`{"username":%q,"password":%q}`, shopUser, shopPW))
	got := do(t, "GET", srvB+"/api/flows", "", nil, shop.session)
	var ans apiAnswer
	if err := json.Unmarshal([]byte(got.body), &ans); got.status != 200 || err != nil {
		t.Fatalf("replica B: %d %s", got.status, got.body)
	}
	// Hand-computed from rbacFixture, as in TestElasticsearchModeUsers.
	if ans.Total != 6 {
		t.Errorf("replica B as the shop user: total %d, want 6", ans.Total)
	}
	assertNoHiddenNames(t, ans)
	assertNoFlows(t, "replica with another key", do(t, "GET", srvC+"/api/flows", "", nil, shop.session), 401)
}
