// Package scopes is the domain of OAuth scope definitions: what a scope is, the built-in
// platform scopes every tenant has, and the use cases the HTTP layer calls. A client may
// only list defined scopes; the clients store enforces that in the transaction that
// writes the client.
package scopes

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
)

// Definition is an OAuth scope definition (Cloudentity's scope, in camelCase).
type Definition struct {
	Tenant string
	// ID is the name, unless the caller chose another id (Import): Cloudentity's scopes
	// have ids of their own, which a migration keeps. It never changes.
	ID                string
	Name              string
	DisplayName       string
	Description       string
	UserPolicyID      string
	DeveloperPolicyID string
	// BuiltIn marks a platform scope: stored once under the system tenant, present in
	// every tenant, read-only.
	BuiltIn   bool
	CreatedBy string
	UpdatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// OpenToDevelopers reports whether a developer (not an admin) may give a client this
// scope: never a platform scope other than the OpenID Connect ones, and only when no
// developer policy guards it. Policies are iam-policies' to evaluate; until that is
// wired, a guarded scope is admins-only, which errs on the safe side.
func (d *Definition) OpenToDevelopers() bool {
	return (!d.BuiltIn || IsOpenID(d.Name)) && d.DeveloperPolicyID == ""
}

// Details is what a caller may set on a definition.
type Details struct {
	DisplayName       string
	Description       string
	UserPolicyID      string
	DeveloperPolicyID string
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// ValidName reports whether name can be a scope name (the spec's ScopeName pattern).
func ValidName(name string) bool { return namePattern.MatchString(name) }

// Apply validates d and writes it onto def.
func (def *Definition) Apply(d Details) error {
	var bad []errs.FieldError
	if len(d.DisplayName) > 200 {
		bad = append(bad, errs.FieldError{Field: "displayName", Message: "at most 200 characters"})
	}
	for field, v := range map[string]string{"userPolicyId": d.UserPolicyID, "developerPolicyId": d.DeveloperPolicyID} {
		if strings.TrimSpace(v) != v {
			bad = append(bad, errs.FieldError{Field: field, Message: "must not have surrounding spaces"})
		}
	}
	if len(bad) > 0 {
		return errs.Fields("the scope definition is invalid", bad...)
	}
	def.DisplayName, def.Description = strings.TrimSpace(d.DisplayName), d.Description
	def.UserPolicyID, def.DeveloperPolicyID = d.UserPolicyID, d.DeveloperPolicyID
	if def.DisplayName == "" {
		def.DisplayName = def.Name
	}
	return nil
}

// SubjectToken is the scope name as a NATS subject token: '.' separates subject tokens,
// so it becomes '~', which a scope name cannot contain; the mapping is reversible.
func SubjectToken(name string) string { return strings.ReplaceAll(name, ".", "~") }

// NameOfToken reverses SubjectToken.
func NameOfToken(token string) string { return strings.ReplaceAll(token, "~", ".") }

// Page is a page of definitions and the total across pages.
type Page struct {
	Definitions []Definition
	Total       int
}

// ListQuery filters and paginates a listing.
type ListQuery struct {
	Search string
	Offset int
	Limit  int
}

// Store persists definitions; every write records the definition's event in the same
// transaction. Reads of a tenant include the built-in definitions.
type Store interface {
	Create(ctx context.Context, d *Definition) error
	Get(ctx context.Context, tenant, name string) (*Definition, error)
	// NameOf finds the name of the definition whose id is id.
	NameOf(ctx context.Context, tenant, id string) (string, error)
	List(ctx context.Context, tenant string, q ListQuery) (Page, error)
	Update(ctx context.Context, tenant, name string, change func(*Definition) error) (*Definition, error)
	// Delete locks the definition, learns which clients list it and lets decide rule on
	// it; when decide allows and force is set, the scope is also removed from those
	// clients (each with a new version and event) by actor. It returns the clients changed.
	Delete(ctx context.Context, tenant, name string, force bool, actor string, decide func(d *Definition, usedBy []string) error) ([]string, error)
	// EnsureBuiltIn makes the stored built-in definitions match defs, recording an event
	// for each one added or changed. Safe to run from every replica at once.
	EnsureBuiltIn(ctx context.Context, defs []Definition) error
}

// Registry is the scope definitions' use cases.
type Registry struct {
	store Store
	// clientsChanged learns the clients a forced deletion changed (the credentials cache
	// forgets them at once).
	clientsChanged func(tenant string, clientIDs []string)
	now            func() time.Time
}

// NewRegistry builds the scope definitions' use cases on store; clientsChanged may be
// nil, and a nil clock is the wall clock in UTC.
func NewRegistry(store Store, clientsChanged func(tenant string, clientIDs []string), clock func() time.Time) *Registry {
	if clock == nil {
		clock = func() time.Time { return time.Now().UTC() }
	}
	return &Registry{store: store, clientsChanged: clientsChanged, now: clock}
}

// Create defines a scope in tenant.
func (r *Registry) Create(ctx context.Context, tenant, name string, d Details, actor string) (*Definition, error) {
	return r.Import(ctx, tenant, "", name, d, actor)
}

// Import defines a scope with a caller-chosen id ("": the name), which stays the scope's
// id for its life.
func (r *Registry) Import(ctx context.Context, tenant, id, name string, d Details, actor string) (*Definition, error) {
	if !ValidName(name) {
		return nil, errs.Fields("invalid scope name", errs.FieldError{Field: "name", Message: "letters, digits and _ . : - only, at most 128"})
	}
	if id == "" {
		id = name
	}
	if !ValidName(id) {
		return nil, errs.Fields("invalid scope id", errs.FieldError{Field: "id", Message: "letters, digits and _ . : - only, at most 128"})
	}
	if IsPlatform(name) {
		return nil, errs.E(errs.Conflict, "scope %q is a built-in platform scope", name)
	}
	now := r.now()
	def := &Definition{Tenant: tenant, ID: id, Name: name, CreatedBy: actor, UpdatedBy: actor, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := def.Apply(d); err != nil {
		return nil, err
	}
	if err := r.store.Create(ctx, def); err != nil {
		return nil, err
	}
	return def, nil
}

// Get returns one definition, the tenant's own or a built-in one.
func (r *Registry) Get(ctx context.Context, tenant, name string) (*Definition, error) {
	return r.store.Get(ctx, tenant, name)
}

// GetByID returns the definition whose id is id.
func (r *Registry) GetByID(ctx context.Context, tenant, id string) (*Definition, error) {
	name, err := r.store.NameOf(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return r.store.Get(ctx, tenant, name)
}

// ReviseByID replaces the details of the definition whose id is id, as it is when the
// change is made: for the seed dialects, whose scopes carry no version (last writer wins,
// as in the seed).
// A definition's name never changes: a name other than the definition's is refused ("" is
// not checked).
func (r *Registry) ReviseByID(ctx context.Context, tenant, id, name string, d Details, actor string) (*Definition, error) {
	current, err := r.store.NameOf(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if name != "" && name != current {
		return nil, errs.Fields("a scope's name cannot change", errs.FieldError{Field: "name",
			Message: fmt.Sprintf("scope %q is named %q; define a new scope for another name", id, current)})
	}
	name = current
	return r.update(ctx, tenant, name, d, Stated{}, func(def *Definition) precondition.Version {
		v := def.Version
		return precondition.Version{Body: &v}
	}, actor)
}

// DeleteByID is Delete of the definition whose id is id.
func (r *Registry) DeleteByID(ctx context.Context, tenant, id string, force bool, actor string) error {
	name, err := r.store.NameOf(ctx, tenant, id)
	if err != nil {
		return err
	}
	return r.Delete(ctx, tenant, name, force, actor)
}

// List pages through the tenant's definitions and the built-in ones, by name.
func (r *Registry) List(ctx context.Context, tenant string, q ListQuery) (Page, error) {
	return r.store.List(ctx, tenant, q)
}

func readOnly(name string) error {
	return errs.E(errs.Forbidden, "scope %q is a built-in platform scope and cannot be changed", name)
}

// Update replaces a definition's details, refusing stale versions and built-in scopes.
// The read-only fields the caller stated must be the definition's.
func (r *Registry) Update(ctx context.Context, tenant, name string, d Details, stated Stated, pre precondition.Version, actor string) (*Definition, error) {
	return r.update(ctx, tenant, name, d, stated, func(*Definition) precondition.Version { return pre }, actor)
}

// update replaces a definition's details under the precondition pre gives for it.
func (r *Registry) update(ctx context.Context, tenant, name string, d Details, stated Stated, pre func(*Definition) precondition.Version, actor string) (*Definition, error) {
	if IsPlatform(name) {
		if _, err := r.store.Get(ctx, tenant, name); err != nil {
			return nil, err
		}
		return nil, readOnly(name)
	}
	return r.store.Update(ctx, tenant, name, func(def *Definition) error {
		if def.BuiltIn {
			return readOnly(name)
		}
		if err := def.CheckStated(stated); err != nil {
			return err
		}
		if err := pre(def).Check(def.Version); err != nil {
			return err
		}
		if err := def.Apply(d); err != nil {
			return err
		}
		def.Version++
		def.UpdatedBy, def.UpdatedAt = actor, r.now()
		return nil
	})
}

// maxNamed caps how many clients a refusal names; the rest are counted.
const maxNamed = 20

// Delete removes a definition. While clients list the scope it is refused, naming them,
// unless force is set: then the scope is first removed from those clients.
func (r *Registry) Delete(ctx context.Context, tenant, name string, force bool, actor string) error {
	if IsPlatform(name) {
		if _, err := r.store.Get(ctx, tenant, name); err != nil {
			return err
		}
		return readOnly(name)
	}
	changed, err := r.store.Delete(ctx, tenant, name, force, actor, func(def *Definition, usedBy []string) error {
		if def.BuiltIn {
			return readOnly(name)
		}
		if len(usedBy) == 0 || force {
			return nil
		}
		named := usedBy
		more := ""
		if len(named) > maxNamed {
			named, more = named[:maxNamed], fmt.Sprintf(" and %d more", len(usedBy)-maxNamed)
		}
		return errs.E(errs.Conflict, "scope %q is still listed by %d client(s): %s%s; delete with forceDelete=true to remove it from them",
			name, len(usedBy), strings.Join(named, ", "), more)
	})
	if err != nil {
		return err
	}
	if len(changed) > 0 && r.clientsChanged != nil {
		r.clientsChanged(tenant, changed)
	}
	return nil
}

// EnsureBuiltIn stores (or refreshes) the platform scopes; run at start-up.
func (r *Registry) EnsureBuiltIn(ctx context.Context, tenant string) error {
	now := r.now()
	defs := make([]Definition, len(Platform))
	for i, p := range Platform {
		defs[i] = Definition{Tenant: tenant, ID: p.Name, Name: p.Name, DisplayName: p.DisplayName, Description: p.Description,
			BuiltIn: true, CreatedBy: "platform", UpdatedBy: "platform", CreatedAt: now, UpdatedAt: now, Version: 1}
	}
	return r.store.EnsureBuiltIn(ctx, defs)
}

// OpenToDevelopers refuses, naming each, the scopes a developer may not give a client:
// built-in platform scopes, and those a developer policy guards. Scopes the tenant does
// not define pass here; the clients store refuses them when the client is written.
func (r *Registry) OpenToDevelopers(ctx context.Context, tenant string, names []string) error {
	var bad []errs.FieldError
	for _, name := range names {
		if IsOpenID(name) {
			continue
		}
		if IsPlatform(name) {
			bad = append(bad, errs.FieldError{Field: "scopes", Message: fmt.Sprintf("scope %q is a platform scope; only an admin may assign it", name)})
			continue
		}
		d, err := r.store.Get(ctx, tenant, name)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !d.OpenToDevelopers() {
			bad = append(bad, errs.FieldError{Field: "scopes", Message: fmt.Sprintf("scope %q is guarded by developer policy %q; only an admin may assign it", name, d.DeveloperPolicyID)})
		}
	}
	if len(bad) > 0 {
		return errs.Fields("the client lists scopes a developer may not assign", bad...)
	}
	return nil
}
