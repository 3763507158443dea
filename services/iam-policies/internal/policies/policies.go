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

// Filter narrows policy listings.
type Filter struct {
	Subject          string
	Scope            string
	Action           string
	ResourceType     string
	ResourceProvider string
	Offset, Limit    int
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

// Engine is iam-policies' use cases: policies, checks, tenant roles and entitled scopes.
type Engine struct {
	store Store
	// indexes, if set, answers checks from memory; the store answers when it has no index.
	indexes Indexes
	newID   func() string
}

// NewEngine returns the use cases on store; indexes may be nil (checks then always query
// the store). newID names new policies; it must return UUIDs, as the index keeps only
// those.
func NewEngine(store Store, indexes Indexes, newID func() string) *Engine {
	return &Engine{store: store, indexes: indexes, newID: newID}
}

// List pages through policies.
func (e *Engine) List(ctx context.Context, tenant string, f Filter) ([]Policy, int, error) {
	return e.store.List(ctx, tenant, f)
}

// Grant creates a policy, or finds the identical one (created false).
func (e *Engine) Grant(ctx context.Context, tenant, subject, scope, action string) (*Policy, bool, error) {
	p := &Policy{Tenant: tenant, ID: e.newID(), Subject: subject, Scope: normalize(scope), Action: action}
	p.ResourceType, p.ResourceProvider = Describe(p.Scope)
	created, err := e.store.Grant(ctx, p)
	if err == nil {
		err = e.settle(ctx, tenant)
	}
	return p, created, err
}

// Revoke deletes the policies of f.Subject matching f. An empty f.Scope matches every
// path; any other loses its trailing slashes.
func (e *Engine) Revoke(ctx context.Context, tenant string, f Filter) (int, error) {
	if f.Scope != "/" {
		f.Scope = strings.TrimRight(f.Scope, "/")
	}
	n, err := e.store.Revoke(ctx, tenant, f)
	if err == nil && n > 0 {
		err = e.settle(ctx, tenant)
	}
	return n, err
}

// settle makes a write visible to this replica's checks before it is answered.
func (e *Engine) settle(ctx context.Context, tenant string) error {
	if e.indexes == nil {
		return nil
	}
	return e.indexes.Settle(ctx, tenant)
}

// Effective is a subject's policies, with those of its groups, and its tenant roles.
type Effective struct {
	Policies    []Policy
	TenantRoles []string
}

// EffectivePolicies lists the policies of subject and its groups (narrowed by f's
// action, resource type and provider) and subject's tenant roles.
func (e *Engine) EffectivePolicies(ctx context.Context, tenant, subject string, f Filter) (Effective, error) {
	found, err := e.store.Effective(ctx, tenant, subject, f)
	if err != nil {
		return Effective{}, err
	}
	roles, err := e.store.TenantRoles(ctx, tenant, subject)
	if err != nil {
		return Effective{}, err
	}
	return Effective{Policies: found, TenantRoles: roles}, nil
}

func normalize(scope string) string {
	if s := strings.TrimRight(scope, "/"); s != "" {
		return s
	}
	return "/"
}
