// Package policies is iam-policies' domain: a policy grants a subject an action on a scope
// path and everything below it; a subject has the policies granted to it and to every
// group it is in, through any depth of nesting.
package policies

import (
	"context"
	"strings"
)

// Policy is one grant.
type Policy struct {
	Tenant           string
	ID               string
	Subject          string // user-<id>, client-<id> or group-<id>
	Scope            string // a path: / or /a/b/c
	Action           string
	ResourceType     string
	ResourceProvider string
	// GrantedTo is, in effective listings, the subject or group the policy is granted to.
	GrantedTo string
}

// Describe derives resourceProvider and resourceType from a scope path:
// /providers/<provider>/<type>/... names both; otherwise the first segment is the type.
func Describe(scope string) (resourceType, resourceProvider string) {
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "providers":
		return parts[2], parts[1]
	case len(parts) >= 1 && parts[0] != "" && parts[0] != "providers":
		return parts[0], ""
	}
	return "", ""
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

// Filter narrows policy listings.
type Filter struct {
	Subject          string
	Scope            string
	Action           string
	ResourceType     string
	ResourceProvider string
	Offset, Limit    int
}

// Decision answers a check.
type Decision struct {
	Allowed bool
	Via     *Policy // the policy that allows it, with GrantedTo
}

// Question is one check.
type Question struct {
	Subject, Action, Scope string
}

// Store persists policies and reads the subject views kept from iam-subjects' events.
type Store interface {
	Grant(ctx context.Context, p *Policy) (created bool, err error)
	Revoke(ctx context.Context, tenant string, f Filter) (int, error)
	List(ctx context.Context, tenant string, f Filter) ([]Policy, int, error)
	// Effective lists the policies of subject and of every group it is in.
	Effective(ctx context.Context, tenant, subject string, f Filter) ([]Policy, error)
	// Check finds a policy of subject (or its groups) for action on any of the paths.
	Check(ctx context.Context, tenant, subject, action string, paths []string) (*Policy, error)
	TenantRoles(ctx context.Context, tenant, subject string) ([]string, error)
	SetTenantRoles(ctx context.Context, tenant, subject string, roles []string) error
	// EntitledScopes are the actions granted to subject (or its groups) on the root path,
	// with the scopes of the RBAC access controls assigned to them.
	EntitledScopes(ctx context.Context, tenant, subject string) ([]string, error)
	// WhoMay lists the subjects allowed action on any of paths, groups expanded.
	WhoMay(ctx context.Context, tenant, action string, paths []string, offset, limit int) ([]Policy, int, error)
	// WhereMay lists the policies through which subject may do action.
	WhereMay(ctx context.Context, tenant, subject, action string) ([]Policy, error)
}

// Indexes hands out a tenant's in-memory Index when it is loaded and current for this
// request, else nil.
type Indexes interface {
	For(ctx context.Context, tenant string) *Index
	// Settle returns once this replica's index holds every change committed before.
	Settle(ctx context.Context, tenant string) error
}

// Engine is iam-policies' use cases.
type Engine struct {
	Store Store
	// Indexes, if set, answers checks from memory; the Store answers when it has no index.
	Indexes Indexes
}

// Grant creates a policy, or finds the identical one.
func (e *Engine) Grant(ctx context.Context, tenant, subject, scope, action, id string) (*Policy, bool, error) {
	p := &Policy{Tenant: tenant, ID: id, Subject: subject, Scope: normalize(scope), Action: action}
	p.ResourceType, p.ResourceProvider = Describe(p.Scope)
	created, err := e.Store.Grant(ctx, p)
	if err == nil {
		err = e.settle(ctx, tenant)
	}
	return p, created, err
}

// Revoke deletes the policies matching f.
func (e *Engine) Revoke(ctx context.Context, tenant string, f Filter) (int, error) {
	n, err := e.Store.Revoke(ctx, tenant, f)
	if err == nil && n > 0 {
		err = e.settle(ctx, tenant)
	}
	return n, err
}

// settle makes a write visible to this replica's checks before it is answered.
func (e *Engine) settle(ctx context.Context, tenant string) error {
	if e.Indexes == nil {
		return nil
	}
	return e.Indexes.Settle(ctx, tenant)
}

// Check decides one question.
func (e *Engine) Check(ctx context.Context, tenant string, q Question) (Decision, error) {
	paths := Covering(normalize(q.Scope))
	if e.Indexes != nil {
		if x := e.Indexes.For(ctx, tenant); x != nil {
			p := x.Decide(tenant, q.Subject, q.Action, paths)
			return Decision{Allowed: p != nil, Via: p}, nil
		}
	}
	p, err := e.Store.Check(ctx, tenant, q.Subject, q.Action, paths)
	if err != nil || p == nil {
		return Decision{}, err
	}
	return Decision{Allowed: true, Via: p}, nil
}

// WhoMay is the reverse lookup: every subject allowed action on scope. Each result's
// Subject is the allowed subject, GrantedTo the policy's subject, Scope its path.
func (e *Engine) WhoMay(ctx context.Context, tenant, action, scope string, offset, limit int) ([]Policy, int, error) {
	return e.Store.WhoMay(ctx, tenant, action, Covering(normalize(scope)), offset, limit)
}

func normalize(scope string) string {
	if s := strings.TrimRight(scope, "/"); s != "" {
		return s
	}
	return "/"
}
