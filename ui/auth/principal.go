package auth

import "context"

// Principal is the signed-in person of one request: who they are and
// what they may see. It is immutable once built; the middleware puts it
// in the request context (FromContext).
type Principal struct {
	// Name is the user name (Elasticsearch user, Kubernetes user, or
	// "anonymous" in mode none).
	Name string `json:"name"`
	// Mode is the ui.auth.mode that signed them in.
	Mode string `json:"mode"`
	// Roles are the Elasticsearch roles (elasticsearch mode) or the
	// Kubernetes groups (kubernetes mode), for display.
	Roles []string `json:"roles,omitempty"`
	// Access is what they may see.
	Access Access `json:"access"`

	// esAuthorization is the Authorization header their Elasticsearch
	// queries carry (elasticsearch mode); never serialized, never logged.
	esAuthorization string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal the middleware put in ctx, or nil
// (which FilterFor and the redaction functions treat as "sees nothing").
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
