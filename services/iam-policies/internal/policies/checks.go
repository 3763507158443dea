package policies

import (
	"context"
	"strings"
)

// Question is one check.
type Question struct {
	Subject, Action, Scope string
}

// Decision answers a check.
type Decision struct {
	Allowed bool
	Via     *Policy // the policy that allows it, with GrantedTo
}

// Covering lists the paths whose policies cover scope: the root, every ancestor path and
// scope itself. /a/b gives /, /a, /a/b.
func Covering(scope string) []string {
	out := []string{"/"}
	trimmed := strings.Trim(scope, "/")
	if trimmed == "" {
		return out
	}
	path := ""
	for _, seg := range strings.Split(trimmed, "/") {
		path += "/" + seg
		out = append(out, path)
	}
	return out
}

// Check decides one question: from this replica's index when it has the tenant's,
// else from the store.
func (e *Engine) Check(ctx context.Context, tenant string, q Question) (Decision, error) {
	paths := Covering(normalize(q.Scope))
	if e.indexes != nil {
		if x := e.indexes.For(ctx, tenant); x != nil {
			p := x.Decide(tenant, q.Subject, q.Action, paths)
			return Decision{Allowed: p != nil, Via: p}, nil
		}
	}
	p, err := e.store.Check(ctx, tenant, q.Subject, q.Action, paths)
	if err != nil || p == nil {
		return Decision{}, err
	}
	return Decision{Allowed: true, Via: p}, nil
}

// CheckBatch decides many questions, in order.
func (e *Engine) CheckBatch(ctx context.Context, tenant string, qs []Question) ([]Decision, error) {
	out := make([]Decision, len(qs))
	for i, q := range qs {
		d, err := e.Check(ctx, tenant, q)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// WhoMay is the reverse lookup: every subject allowed action on scope. Each result's
// Subject is the allowed subject, GrantedTo the policy's subject, Scope its path.
func (e *Engine) WhoMay(ctx context.Context, tenant, action, scope string, offset, limit int) ([]Policy, int, error) {
	return e.store.WhoMay(ctx, tenant, action, Covering(normalize(scope)), offset, limit)
}

// WhereMay lists the policies through which subject may do action, by path.
func (e *Engine) WhereMay(ctx context.Context, tenant, subject, action string) ([]Policy, error) {
	return e.store.WhereMay(ctx, tenant, subject, action)
}
