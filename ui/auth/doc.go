// Package auth is the access control of `flowship ui` (docs/security.md):
// who the person behind a request is (ui.auth.mode elasticsearch,
// kubernetes or none), their session (an AES-GCM sealed cookie any replica with
// the key opens), and what they may see.
//
// The rule: a flow is visible when at least one of its two endpoints is
// something the person may list (Access.FlowVisible); policy names they
// may not read show as idx|*|*|action|* (RedactPolicy, RedactHit).
//
// How the ui uses it:
//
//	a, err := auth.New(cfg.Auth, auth.Options{Listen: cfg.Listen, BasePath: cfg.BasePath,
//		RBAC: cfg.RBAC, Elasticsearch: auth.ESEndpoint{URL: esURL, Client: esHTTP}}, tel)
//	es, _ := goes.NewClient(goes.Config{..., Transport: a.Transport(baseTransport)}) // queries run as the user
//	a.Mount(mux, base)                          // POST auth/signin, POST auth/signout, GET auth/whoami
//	mux.Handle("GET "+base+"api/…", a.Require(h)) // 401/403/503 before h; principal in the context
//
// and in the one place that builds every query's filter:
//
//	p := auth.FromContext(r.Context())
//	if c := auth.FilterFor(p, auth.FlowFields()); c != nil { clauses = append(clauses, c) }
//	// nested policy_hits filters and the Policy Board: auth.ReadableHits(p, auth.PolicyHitFields())
//	// documents out: auth.RedactSource(p, src); counts by policy string: auth.RedactPolicyCounts
package auth
