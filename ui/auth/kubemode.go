package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Resources whose permissions decide access in kubernetes mode (Calico's
// resources are in the projectcalico.org API group).
const calicoGroup = "projectcalico.org"

// kubeVerifier signs people in with a Kubernetes bearer token: TokenReview
// says who they are, SubjectAccessReviews what they may list.
type kubeVerifier struct {
	c           *KubeClient
	concurrency int
}

func (v *kubeVerifier) signIn(ctx context.Context, c credentials) (*Principal, string, error) {
	if c.Token == "" {
		return nil, "", errors.New("kubernetes mode: paste a bearer token (kubectl create token …) or sign in through a proxy that sets Authorization")
	}
	p, err := v.principal(ctx, c.Token)
	if err != nil {
		return nil, "", err
	}
	return p, c.Token, nil
}

// restore reuses this replica's decision for the session's token while
// it is younger than cache_ttl, and otherwise asks the API server again
// (TokenReview and SubjectAccessReviews): a revoked token is
// ErrUnauthenticated, an API server that cannot be asked an error.
func (v *kubeVerifier) restore(ctx context.Context, a *Authenticator, s *session) (*Principal, error) {
	now := a.now()
	if p := a.tokens.get(s.Secret, now, a.cfg.CacheTTL); p != nil {
		return p, nil
	}
	p, err := v.principal(ctx, s.Secret)
	if err != nil {
		return nil, err
	}
	a.tokens.put(s.Secret, p, now)
	return p, nil
}

// principal reviews token and computes its user's access. Any API failure
// is returned (the caller denies); nothing is assumed allowed.
func (v *kubeVerifier) principal(ctx context.Context, token string) (*Principal, error) {
	u, err := v.c.reviewToken(ctx, token)
	if err != nil {
		return nil, err
	}
	acc, err := v.access(ctx, u)
	if err != nil {
		return nil, err
	}
	groups := append([]string(nil), u.Groups...)
	sort.Strings(groups)
	return &Principal{Name: u.Username, Mode: ModeKubernetes, Roles: groups, Access: acc}, nil
}

// access asks, cluster-wide first, then per namespace or tier where the
// cluster-wide answer was no:
//
//	wep in N:   list pods (core) in N
//	ns in N:    list networksets.projectcalico.org in N
//	ns global:  list globalnetworksets.projectcalico.org
//	hep:        list hostendpoints.projectcalico.org
//	policies:   get networkpolicies.projectcalico.org in N; get
//	            globalnetworkpolicies.projectcalico.org; get tiers.projectcalico.org (by name)
func (v *kubeVerifier) access(ctx context.Context, u userInfo) (Access, error) {
	ask := func(verb, group, resource, ns, name string) func(context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			return v.c.allowed(ctx, u, resourceAttributes{Namespace: ns, Verb: verb, Group: group, Resource: resource, Name: name})
		}
	}
	cluster := []func(context.Context) (bool, error){
		ask("list", "", "pods", "", ""),
		ask("list", calicoGroup, "networksets", "", ""),
		ask("list", calicoGroup, "globalnetworksets", "", ""),
		ask("list", calicoGroup, "hostendpoints", "", ""),
		ask("get", calicoGroup, "networkpolicies", "", ""),
		ask("get", calicoGroup, "globalnetworkpolicies", "", ""),
		ask("get", calicoGroup, "tiers", "", ""),
	}
	ok, err := v.all(ctx, cluster)
	if err != nil {
		return Access{}, err
	}
	a := Access{GlobalNetworkSets: ok[2], HostEndpoints: ok[3], Policies: PolicyAccess{Global: ok[5]}}
	perNS := []struct {
		all      bool
		dst      *Namespaces
		verb     string
		group    string
		resource string
	}{
		{ok[0], &a.Pods, "list", "", "pods"},
		{ok[1], &a.NetworkSets, "list", calicoGroup, "networksets"},
		{ok[4], &a.Policies.Namespaces, "get", calicoGroup, "networkpolicies"},
	}
	var namespaces []string
	for _, p := range perNS {
		if p.all {
			*p.dst = AllNamespaces()
		} else if namespaces == nil {
			if namespaces, err = v.c.names(ctx, "/api/v1/namespaces"); err != nil {
				return Access{}, err
			}
		}
	}
	for _, p := range perNS {
		if p.all {
			continue
		}
		asks := make([]func(context.Context) (bool, error), len(namespaces))
		for i, ns := range namespaces {
			asks[i] = ask(p.verb, p.group, p.resource, ns, "")
		}
		res, err := v.all(ctx, asks)
		if err != nil {
			return Access{}, err
		}
		*p.dst = SomeNamespaces(pick(namespaces, res)...)
	}
	if ok[6] {
		a.Policies.Tiers = AllNamespaces()
	} else if !a.Policies.Namespaces.Empty() || a.Policies.Global {
		tiers, err := v.c.names(ctx, "/apis/projectcalico.org/v3/tiers")
		if err != nil {
			return Access{}, err
		}
		asks := make([]func(context.Context) (bool, error), len(tiers))
		for i, t := range tiers {
			asks[i] = ask("get", calicoGroup, "tiers", "", t)
		}
		res, err := v.all(ctx, asks)
		if err != nil {
			return Access{}, err
		}
		a.Policies.Tiers = SomeNamespaces(pick(tiers, res)...)
	}
	return a, nil
}

// all runs the questions at most v.concurrency at a time; one error fails
// all of them.
func (v *kubeVerifier) all(ctx context.Context, qs []func(context.Context) (bool, error)) ([]bool, error) {
	out := make([]bool, len(qs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(v.concurrency)
	for i, q := range qs {
		g.Go(func() error {
			ok, err := q(ctx)
			out[i] = ok
			return err
		})
	}
	return out, g.Wait()
}

func pick(names []string, ok []bool) []string {
	var out []string
	for i, n := range names {
		if ok[i] {
			out = append(out, n)
		}
	}
	return out
}

// tokenCache keeps the principals of bearer tokens sent by a proxy (no
// session) for cache_ttl, keyed by the token's SHA-256.
type tokenCache struct {
	mu  sync.Mutex
	m   map[[32]byte]tokenEntry
	max int
}

type tokenEntry struct {
	p  *Principal
	at time.Time
}

func (c *tokenCache) get(tok string, now time.Time, ttl time.Duration) *Principal {
	k := sha256.Sum256([]byte(tok))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !now.Before(e.at.Add(ttl)) {
		delete(c.m, k)
		return nil
	}
	return e.p
}

func (c *tokenCache) put(tok string, p *Principal, now time.Time) {
	k := sha256.Sum256([]byte(tok))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m) // a burst of distinct tokens: start over rather than grow
	}
	c.m[k] = tokenEntry{p: p, at: now}
}

// authorizeBearer decides the principal of a request that carries
// "Authorization: Bearer" (kubectl proxy, an OIDC proxy): from the cache,
// or by TokenReview and SubjectAccessReviews. A rejected token is 401, an
// API server that cannot be asked is 503: both deny.
func (a *Authenticator) authorizeBearer(w http.ResponseWriter, r *http.Request, tok string) (*Principal, bool) {
	now := a.now()
	if p := a.tokens.get(tok, now, a.cfg.CacheTTL); p != nil {
		return p, true
	}
	p, _, err := a.v.signIn(r.Context(), credentials{Token: tok})
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			a.log.Warn("ui: bearer token rejected", "client", clientAddr(r), "reason", err)
			a.deny(w, r, http.StatusUnauthorized, "revoked", "bearer token not accepted by the Kubernetes API server")
			return nil, false
		}
		a.log.Warn("ui: cannot verify bearer token; request denied", "client", clientAddr(r), "err", err)
		a.deny(w, r, http.StatusServiceUnavailable, "unavailable", "cannot verify your access right now; try again")
		return nil, false
	}
	a.tokens.put(tok, p, now)
	return p, true
}
