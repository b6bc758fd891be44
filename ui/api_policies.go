package ui

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"

	"github.com/tidwall/gjson"

	"github.com/flowship/flowship/pipeline"
	"github.com/flowship/flowship/ui/auth"
)

// Verdicts are a policy's or rule's counts over the flows whose trace hit
// it: connections (sum of num_flows) and how many of those it allowed,
// denied or passed (pass = an explicit pass rule, or the end of the tier).
type Verdicts struct {
	Connections int64 `json:"connections"`
	Allowed     int64 `json:"allowed"`
	Denied      int64 `json:"denied"`
	Passed      int64 `json:"passed"`
}

func (v *Verdicts) addAction(action string, n int64) {
	switch action {
	case "allow":
		v.Allowed += n
	case "deny":
		v.Denied += n
	case "pass":
		v.Passed += n
	}
}

// BoardPolicy is one policy of a Policy Board column.
type BoardPolicy struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Staged    bool   `json:"staged"`
	Order     int64  `json:"order"` // lowest trace position seen
	Verdicts
}

// BoardTier is one column: a tier and its policies.
type BoardTier struct {
	Tier     string        `json:"tier"`
	Order    float64       `json:"order"` // mean trace position of its hits
	Policies []BoardPolicy `json:"policies"`
}

// reverseFlows sums num_flows over the parent flow documents of a nested
// bucket, so a document counts once per bucket.
var reverseFlows = obj{"reverse_nested": obj{}, "aggs": obj{"n": obj{"sum": obj{"field": "num_flows"}}}}

// handleBoard answers the Policy Board: per list (enforced, pending,
// transit) the tiers in trace order with their policies and verdicts, and
// since when flow documents carry policy_hits (over all time, not only the
// range, so the board can say where its data starts). board_list=L
// answers list L alone (the page asks for the list it shows): the nested
// aggregation then skips the other lists' hits, which halves its work
// when flows carry both enforced and pending traces.
func (s *Server) handleBoard(_ http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.scope(r, pipeline.KindFlow, "board_list")
	if err != nil {
		return nil, err
	}
	lists := obj{"enforced": []BoardTier{}, "pending": []BoardTier{}, "transit": []BoardTier{}}
	listTerms := obj{"field": "policy_hits.list", "size": 3}
	if l := r.URL.Query().Get("board_list"); l != "" {
		if _, ok := lists[l]; !ok {
			return nil, badf("board_list=%q: want enforced, pending or transit", l)
		}
		lists = obj{l: []BoardTier{}}
		listTerms["include"] = []string{l}
	}
	body := obj{"size": 0, "track_total_hits": false, "query": boolFilter(q.Clauses), "aggs": obj{
		"flows": obj{"sum": obj{"field": "num_flows"}},
		"hits": obj{"nested": obj{"path": "policy_hits"}, "aggs": obj{
			"lists": obj{"terms": listTerms, "aggs": obj{
				"tiers": obj{"terms": obj{"field": "policy_hits.tier", "size": 500}, "aggs": obj{
					"order": obj{"avg": obj{"field": "policy_hits.index"}},
					"policies": obj{"terms": obj{"field": "policy_hits.name", "size": 2000}, "aggs": obj{
						"order":     obj{"min": obj{"field": "policy_hits.index"}},
						"kind":      obj{"terms": obj{"field": "policy_hits.kind", "size": 1}},
						"namespace": obj{"terms": obj{"field": "policy_hits.namespace", "size": 1}},
						// No reverse_nested sum for the policy itself: each tier
						// contributes at most one entry to a trace (spec
						// calico-flow-logs.md, the policy string's index), so a
						// policy's connections are the sum over its actions; a
						// second reverse_nested per policy cost about a fifth
						// of the board's time on the bench's 1M documents.
						"actions": obj{"terms": obj{"field": "policy_hits.action", "size": 10}, "aggs": obj{
							"flows": reverseFlows}},
					}},
				}},
			}},
		}},
	}}
	res, err := s.es.search(r.Context(), s.alias(pipeline.KindFlow), body)
	if err != nil {
		return nil, err
	}
	for _, l := range gjson.GetBytes(res, "aggregations.hits.lists.buckets").Array() {
		lists[l.Get("key").String()] = boardTiers(l, q.Principal)
	}
	// Since when: the oldest document with policy_hits, as a sorted search
	// of one hit rather than a min aggregation under a global one, which
	// visited every document of every index on each request (0.3-0.4 s
	// against 0.1 s for the sort on the bench's million documents).
	first, err := s.es.search(r.Context(), s.alias(pipeline.KindFlow), obj{
		"size": 1, "_source": false, "track_total_hits": false,
		"sort":  []any{obj{"@timestamp": obj{"order": "asc", "format": "strict_date_optional_time"}}},
		"query": boolFilter(q.Access, obj{"nested": obj{"path": "policy_hits", "query": obj{"exists": obj{"field": "policy_hits.list"}}}}),
	})
	if err != nil {
		return nil, err
	}
	var since any
	if t := gjson.GetBytes(first, "hits.hits.0.sort.0"); t.Exists() {
		since = t.String()
	}
	return obj{
		"from": q.Filter.From, "to": q.Filter.To, "ignored": nonNil(q.Ignored),
		"connections": gjson.GetBytes(res, "aggregations.flows.value").Int(),
		"data_since":  since, "lists": lists,
	}, nil
}

// boardTiers orders the tiers by the mean trace position of their hits
// (profiles last): a tier evaluated later sits later in the traces that
// reach it, while its lowest position is 0 whenever an endpoint is
// selected by no earlier tier. Policies of a tier share their trace
// position, and flow logs do not carry a policy's order value, so they
// are listed by name.
//
// Policies p may not read (auth.PolicyReadable) are merged into one policy
// "*" of one tier "*", whose counts are their sums, so totals stay true
// and hidden names, tiers and namespaces never leave the API.
func boardTiers(list gjson.Result, pr *auth.Principal) []BoardTier {
	tiers := []BoardTier{}
	var hid *BoardTier
	for _, t := range list.Get("tiers.buckets").Array() {
		bt := BoardTier{Tier: t.Get("key").String(), Order: t.Get("order.value").Float(), Policies: []BoardPolicy{}}
		for _, p := range t.Get("policies.buckets").Array() {
			bp := BoardPolicy{
				Name:      p.Get("key").String(),
				Kind:      p.Get("kind.buckets.0.key").String(),
				Namespace: p.Get("namespace.buckets.0.key").String(),
				Order:     p.Get("order.value").Int(),
			}
			bp.Staged = len(bp.Kind) > 0 && bp.Kind[0] == 's'
			for _, a := range p.Get("actions.buckets").Array() {
				n := a.Get("flows.n.value").Int()
				bp.Connections += n
				bp.addAction(a.Get("key").String(), n)
			}
			if !auth.PolicyReadable(pr, bt.Tier, bp.Namespace) {
				if hid == nil {
					hid = &BoardTier{Tier: auth.Hidden, Order: bt.Order, Policies: []BoardPolicy{
						{Name: auth.Hidden, Kind: auth.Hidden, Namespace: auth.Hidden, Order: bp.Order}}}
				}
				h := &hid.Policies[0]
				hid.Order = max(hid.Order, bt.Order)
				h.Order = min(h.Order, bp.Order)
				h.Connections += bp.Connections
				h.Allowed += bp.Allowed
				h.Denied += bp.Denied
				h.Passed += bp.Passed
				continue
			}
			bt.Policies = append(bt.Policies, bp)
		}
		if len(bt.Policies) == 0 {
			continue // every policy of the tier is hidden: so is the tier
		}
		slices.SortFunc(bt.Policies, func(a, b BoardPolicy) int {
			return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Name, b.Name))
		})
		tiers = append(tiers, bt)
	}
	if hid != nil {
		tiers = append(tiers, *hid)
	}
	slices.SortFunc(tiers, func(a, b BoardTier) int {
		return cmp.Or(cmp.Compare(boolInt(a.Tier == "__PROFILE__"), boolInt(b.Tier == "__PROFILE__")),
			cmp.Compare(a.Order, b.Order), cmp.Compare(a.Tier, b.Tier))
	})
	return tiers
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Rule is one rule of a policy with its verdicts, per direction: ingress
// (hits reported by the destination), egress (by the source) or forward.
type Rule struct {
	Rule      int64  `json:"rule"` // -1: no rule matched (tier default); -2: not recorded
	Direction string `json:"direction"`
	Verdicts
}

// handleRules answers one policy's rules: rule_list (enforced, pending,
// transit; default enforced), rule_tier and rule_policy name it.
func (s *Server) handleRules(_ http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.scope(r, pipeline.KindFlow, "rule_list", "rule_tier", "rule_policy")
	if err != nil {
		return nil, err
	}
	uq := r.URL.Query()
	list, tier, name := cmp.Or(uq.Get("rule_list"), "enforced"), uq.Get("rule_tier"), uq.Get("rule_policy")
	if !slices.Contains([]string{"enforced", "pending", "transit"}, list) {
		return nil, badf("rule_list=%q: want enforced, pending or transit", list)
	}
	if tier == "" || name == "" {
		return nil, badf("rule_tier and rule_policy name the policy whose rules to show")
	}
	for k, v := range map[string]string{"rule_tier": tier, "rule_policy": name} {
		if err := checkValue(k, v); err != nil {
			return nil, err
		}
	}
	// The rules of a policy the user may not read are refused whether or
	// not it exists (auth.RedactPolicy decides from the name's namespace).
	if probe := "0|" + tier + "|" + name + "|allow|0"; auth.RedactPolicy(q.Principal, probe) != probe {
		return nil, errForbidden{fmt.Sprintf("you may not read the policy %s of tier %s", name, tier)}
	}
	body := obj{"size": 0, "track_total_hits": false, "query": boolFilter(q.Clauses), "aggs": obj{
		"hits": obj{"nested": obj{"path": "policy_hits"}, "aggs": obj{
			"p": obj{"filter": obj{"bool": obj{"filter": []any{
				obj{"term": obj{"policy_hits.list": list}}, obj{"term": obj{"policy_hits.tier": tier}},
				obj{"term": obj{"policy_hits.name": name}}}}}, "aggs": obj{
				"rules": obj{"terms": obj{"field": "policy_hits.rule", "size": 1000}, "aggs": obj{
					"actions": obj{"terms": obj{"field": "policy_hits.action", "size": 3}, "aggs": obj{
						"back": obj{"reverse_nested": obj{}, "aggs": obj{
							"dir": obj{"terms": obj{"field": "reporter", "size": 3}, "aggs": obj{
								"n": obj{"sum": obj{"field": "num_flows"}}}}}}}}}}}}}}}}
	res, err := s.es.search(r.Context(), s.alias(pipeline.KindFlow), body)
	if err != nil {
		return nil, err
	}
	byKey := map[[2]any]*Rule{}
	rules := []*Rule{}
	for _, rb := range gjson.GetBytes(res, "aggregations.hits.p.rules.buckets").Array() {
		for _, ab := range rb.Get("actions.buckets").Array() {
			for _, db := range ab.Get("back.dir.buckets").Array() {
				dir := map[string]string{"src": "egress", "dst": "ingress", "fwd": "forward"}[db.Get("key").String()]
				k := [2]any{rb.Get("key").Int(), dir}
				ru := byKey[k]
				if ru == nil {
					ru = &Rule{Rule: rb.Get("key").Int(), Direction: dir}
					byKey[k] = ru
					rules = append(rules, ru)
				}
				n := db.Get("n.value").Int()
				ru.Connections += n
				ru.addAction(ab.Get("key").String(), n)
			}
		}
	}
	slices.SortFunc(rules, func(a, b *Rule) int {
		return cmp.Or(cmp.Compare(a.Direction, b.Direction), cmp.Compare(a.Rule, b.Rule))
	})
	return obj{"from": q.Filter.From, "to": q.Filter.To, "list": list, "tier": tier, "policy": name, "rules": rules}, nil
}
