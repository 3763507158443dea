// Package rbac is Emporix-style role-based access: resources and permissions carry codes,
// a role is a set of permissions (each optionally narrowed to some of its resources), an
// access control is a role on one resource, a template is a set of access controls, and
// access controls and templates are assigned to users, clients and groups. An access
// control gives the OAuth scopes `<resource code>_<permission code>`; a subject is
// entitled to the scopes of everything assigned to it or to any group it is in.
package rbac

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/version"
)

// Entry is what every RBAC entity has: a localized name and description and the
// optimistic-concurrency metadata.
type Entry struct {
	Tenant      string
	ID          string
	Name        map[string]string
	Description map[string]string
	Version     int64
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// Resource is something permissions apply to (iam.group); its code is unique in the tenant.
type Resource struct {
	Entry
	Code string
}

// Permission is something one may do (read) on the resources it applies to.
type Permission struct {
	Entry
	Code                string
	ApplicableResources []string
}

// RolePermission is a permission in a role; Resources, when not empty, narrows it to
// those of the permission's applicable resources (applicablePermissionResources).
type RolePermission struct {
	ID        string
	Resources []string
}

// Role is a named set of permissions.
type Role struct {
	Entry
	Permissions []RolePermission
}

// AccessControl is a role on a resource. Scopes are computed from both; Role and
// Resource are filled in only when expanded.
type AccessControl struct {
	Entry
	RoleID     string
	ResourceID string
	Scopes     []string
	Role       *Role
	Resource   *Resource
}

// Template is a named set of access controls, assigned as one. Details are filled in
// only when expanded.
type Template struct {
	Entry
	AccessControls []string
	Details        []AccessControl
}

// Assignment gives a subject (user-, client- or group-<id>) an access control or a
// template: exactly one of AccessControlID and TemplateID is set.
type Assignment struct {
	Tenant          string
	ID              string
	Subject         string
	AccessControlID string
	TemplateID      string
	CreatedAt       time.Time
}

// Query filters and pages a listing. RoleID and ResourceID apply to access controls only.
type Query struct {
	Name          string
	Description   string
	ModifiedSince *time.Time
	RoleID        string
	ResourceID    string
	Offset, Limit int
}

// AssignmentQuery filters and pages assignments.
type AssignmentQuery struct {
	Subject         string
	AccessControlID string
	TemplateID      string
	Offset, Limit   int
}

// Collection is the storage of one kind of entity. Create refuses a clash (errs.Conflict);
// Update loads the entity locked, lets change edit it and stores the result, all in one
// transaction; Delete refuses an entity still referenced (errs.Conflict naming the
// referrers). Every write checks the ids it names (errs.Invalid naming the unknown ones)
// and republishes the entitled scope sets it may change, in its transaction.
type Collection[T any] interface {
	Create(ctx context.Context, v *T) error
	Update(ctx context.Context, tenant, id string, change func(*T) error) (*T, error)
	Delete(ctx context.Context, tenant, id string) error
	Get(ctx context.Context, tenant, id string) (*T, error)
	List(ctx context.Context, tenant string, q Query) ([]T, int, error)
}

// Store is RBAC's storage.
type Store interface {
	Resources() Collection[Resource]
	Permissions() Collection[Permission]
	Roles() Collection[Role]
	AccessControls() Collection[AccessControl]
	Templates() Collection[Template]

	// Assign stores a, unless the subject already has the same access control or
	// template, in which case a becomes the existing assignment (created false).
	Assign(ctx context.Context, a *Assignment) (created bool, err error)
	Unassign(ctx context.Context, tenant, id string) error
	ListAssignments(ctx context.Context, tenant string, q AssignmentQuery) ([]Assignment, int, error)

	// EffectiveAccessControls pages through the access controls assigned to subject or
	// any group it is in, directly or through templates; resourceID, if set, narrows
	// them to one resource.
	EffectiveAccessControls(ctx context.Context, tenant, subject, resourceID string, offset, limit int) ([]AccessControl, int, error)
	// EffectivePermissions lists the permissions those access controls give on resourceID.
	EffectivePermissions(ctx context.Context, tenant, subject, resourceID string) ([]Permission, error)
}

// Catalog is RBAC's use cases.
type Catalog struct {
	Store Store
	Now   func() time.Time
}

func (c *Catalog) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// newEntry prepares a new entity at version 1; now is cut to PostgreSQL's microseconds,
// so the created entity reads back exactly as it was returned.
func (c *Catalog) newEntry(tenant, id string, name, description map[string]string) Entry {
	now := c.now()
	if description == nil {
		description = map[string]string{}
	}
	return Entry{Tenant: tenant, ID: id, Name: name, Description: description, Version: 1, CreatedAt: now, ModifiedAt: now}
}

// revise applies a change on top of the current entry: the precondition must name its
// version; the version goes up by one.
func (c *Catalog) revise(e *Entry, pre version.Precondition, name, description map[string]string) error {
	if err := pre.Check(e.Version); err != nil {
		return err
	}
	if description == nil {
		description = map[string]string{}
	}
	e.Name, e.Description, e.Version, e.ModifiedAt = name, description, e.Version+1, c.now()
	return nil
}

func checkName(name map[string]string) []errs.FieldError {
	var bad []errs.FieldError
	for lang, text := range name {
		if strings.TrimSpace(text) == "" {
			bad = append(bad, errs.FieldError{Field: "name." + lang, Message: "must not be blank"})
		}
	}
	if len(name) == 0 {
		bad = append(bad, errs.FieldError{Field: "name", Message: "needs at least one language"})
	}
	return bad
}

func invalid(what string, bad []errs.FieldError) error {
	if len(bad) == 0 {
		return nil
	}
	slices.SortFunc(bad, func(a, b errs.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return errs.Fields("invalid "+what, bad...)
}

// Unknown names ids that do not exist, for a write that refers to them.
func Unknown(field, kind string, ids []string) errs.FieldError {
	return errs.FieldError{Field: field, Message: fmt.Sprintf("unknown %s: %s", kind, strings.Join(ids, ", "))}
}

// Missing lists the ids not in known, in order, once each.
func Missing[V any](ids []string, known map[string]V) []string {
	var out []string
	for _, id := range ids {
		if _, ok := known[id]; !ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// CheckReferences checks a permission's applicable resources against those that exist.
func (p *Permission) CheckReferences(resources map[string]bool) error {
	if missing := Missing(p.ApplicableResources, resources); len(missing) > 0 {
		return invalid("permission", []errs.FieldError{Unknown("applicableResources", "resources", missing)})
	}
	return nil
}

// CheckReferences checks a role against the permissions it names, given as each one's
// applicable resources: every permission must exist, and each role permission's
// resources must be among its permission's applicable resources.
func (r *Role) CheckReferences(applicable map[string][]string) error {
	var bad []errs.FieldError
	for i, rp := range r.Permissions {
		res, ok := applicable[rp.ID]
		if !ok {
			bad = append(bad, Unknown(fmt.Sprintf("permissions.%d.id", i), "permission", []string{rp.ID}))
			continue
		}
		var outside []string
		for _, id := range rp.Resources {
			if !slices.Contains(res, id) {
				outside = append(outside, id)
			}
		}
		if len(outside) > 0 {
			bad = append(bad, errs.FieldError{Field: fmt.Sprintf("permissions.%d.applicablePermissionResources", i),
				Message: fmt.Sprintf("not among permission %s's applicableResources: %s", rp.ID, strings.Join(outside, ", "))})
		}
	}
	return invalid("role", bad)
}

// CheckReferences checks an access control's role and resource exist.
func (a *AccessControl) CheckReferences(roleExists, resourceExists bool) error {
	var bad []errs.FieldError
	if !roleExists {
		bad = append(bad, Unknown("roleId", "role", []string{a.RoleID}))
	}
	if !resourceExists {
		bad = append(bad, Unknown("resourceId", "resource", []string{a.ResourceID}))
	}
	return invalid("access control", bad)
}

// CheckReferences checks a template's access controls exist.
func (t *Template) CheckReferences(accessControls map[string]bool) error {
	if missing := Missing(t.AccessControls, accessControls); len(missing) > 0 {
		return invalid("template", []errs.FieldError{Unknown("accessControls", "access controls", missing)})
	}
	return nil
}

// ResourceFields are what a caller sets on a resource; likewise for the other kinds.
type ResourceFields struct {
	Name, Description map[string]string
	Code              string
}

// PermissionFields are what a caller sets on a permission.
type PermissionFields struct {
	Name, Description   map[string]string
	Code                string
	ApplicableResources []string
}

// RoleFields are what a caller sets on a role.
type RoleFields struct {
	Name, Description map[string]string
	Permissions       []RolePermission
}

// AccessControlFields are what a caller sets on an access control.
type AccessControlFields struct {
	Name, Description  map[string]string
	RoleID, ResourceID string
}

// TemplateFields are what a caller sets on a template.
type TemplateFields struct {
	Name, Description map[string]string
	AccessControls    []string
}

func (f RoleFields) check() error {
	bad := checkName(f.Name)
	seen := map[string]bool{}
	for i, p := range f.Permissions {
		if seen[p.ID] {
			bad = append(bad, errs.FieldError{Field: fmt.Sprintf("permissions.%d.id", i), Message: "listed twice: " + p.ID})
		}
		seen[p.ID] = true
	}
	return invalid("role", bad)
}

// CreateResource adds a resource.
func (c *Catalog) CreateResource(ctx context.Context, tenant, id string, f ResourceFields) (*Resource, error) {
	if err := invalid("resource", checkName(f.Name)); err != nil {
		return nil, err
	}
	r := &Resource{Entry: c.newEntry(tenant, id, f.Name, f.Description), Code: f.Code}
	return r, c.Store.Resources().Create(ctx, r)
}

// UpdateResource replaces a resource.
func (c *Catalog) UpdateResource(ctx context.Context, tenant, id string, f ResourceFields, pre version.Precondition) (*Resource, error) {
	if err := invalid("resource", checkName(f.Name)); err != nil {
		return nil, err
	}
	return c.Store.Resources().Update(ctx, tenant, id, func(r *Resource) error {
		r.Code = f.Code
		return c.revise(&r.Entry, pre, f.Name, f.Description)
	})
}

// CreatePermission adds a permission.
func (c *Catalog) CreatePermission(ctx context.Context, tenant, id string, f PermissionFields) (*Permission, error) {
	if err := invalid("permission", checkName(f.Name)); err != nil {
		return nil, err
	}
	p := &Permission{Entry: c.newEntry(tenant, id, f.Name, f.Description), Code: f.Code, ApplicableResources: dedupe(f.ApplicableResources)}
	return p, c.Store.Permissions().Create(ctx, p)
}

// UpdatePermission replaces a permission.
func (c *Catalog) UpdatePermission(ctx context.Context, tenant, id string, f PermissionFields, pre version.Precondition) (*Permission, error) {
	if err := invalid("permission", checkName(f.Name)); err != nil {
		return nil, err
	}
	return c.Store.Permissions().Update(ctx, tenant, id, func(p *Permission) error {
		p.Code, p.ApplicableResources = f.Code, dedupe(f.ApplicableResources)
		return c.revise(&p.Entry, pre, f.Name, f.Description)
	})
}

// CreateRole adds a role.
func (c *Catalog) CreateRole(ctx context.Context, tenant, id string, f RoleFields) (*Role, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	r := &Role{Entry: c.newEntry(tenant, id, f.Name, f.Description), Permissions: normalizeRolePermissions(f.Permissions)}
	return r, c.Store.Roles().Create(ctx, r)
}

// UpdateRole replaces a role.
func (c *Catalog) UpdateRole(ctx context.Context, tenant, id string, f RoleFields, pre version.Precondition) (*Role, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return c.Store.Roles().Update(ctx, tenant, id, func(r *Role) error {
		r.Permissions = normalizeRolePermissions(f.Permissions)
		return c.revise(&r.Entry, pre, f.Name, f.Description)
	})
}

// CreateAccessControl adds an access control.
func (c *Catalog) CreateAccessControl(ctx context.Context, tenant, id string, f AccessControlFields) (*AccessControl, error) {
	if err := invalid("access control", checkName(f.Name)); err != nil {
		return nil, err
	}
	a := &AccessControl{Entry: c.newEntry(tenant, id, f.Name, f.Description), RoleID: f.RoleID, ResourceID: f.ResourceID}
	return a, c.Store.AccessControls().Create(ctx, a)
}

// UpdateAccessControl replaces an access control.
func (c *Catalog) UpdateAccessControl(ctx context.Context, tenant, id string, f AccessControlFields, pre version.Precondition) (*AccessControl, error) {
	if err := invalid("access control", checkName(f.Name)); err != nil {
		return nil, err
	}
	return c.Store.AccessControls().Update(ctx, tenant, id, func(a *AccessControl) error {
		a.RoleID, a.ResourceID = f.RoleID, f.ResourceID
		return c.revise(&a.Entry, pre, f.Name, f.Description)
	})
}

// CreateTemplate adds a template.
func (c *Catalog) CreateTemplate(ctx context.Context, tenant, id string, f TemplateFields) (*Template, error) {
	if err := invalid("template", checkName(f.Name)); err != nil {
		return nil, err
	}
	t := &Template{Entry: c.newEntry(tenant, id, f.Name, f.Description), AccessControls: dedupe(f.AccessControls)}
	return t, c.Store.Templates().Create(ctx, t)
}

// UpdateTemplate replaces a template.
func (c *Catalog) UpdateTemplate(ctx context.Context, tenant, id string, f TemplateFields, pre version.Precondition) (*Template, error) {
	if err := invalid("template", checkName(f.Name)); err != nil {
		return nil, err
	}
	return c.Store.Templates().Update(ctx, tenant, id, func(t *Template) error {
		t.AccessControls = dedupe(f.AccessControls)
		return c.revise(&t.Entry, pre, f.Name, f.Description)
	})
}

// Assign gives subject an access control or a template (exactly one of the two ids).
func (c *Catalog) Assign(ctx context.Context, tenant, id, subject, accessControlID, templateID string) (*Assignment, bool, error) {
	if (accessControlID == "") == (templateID == "") {
		return nil, false, errs.Fields("an assignment names exactly one access control or template",
			errs.FieldError{Field: "accessControlId", Message: "exactly one of accessControlId and templateId"},
			errs.FieldError{Field: "templateId", Message: "exactly one of accessControlId and templateId"})
	}
	a := &Assignment{Tenant: tenant, ID: id, Subject: subject, AccessControlID: accessControlID, TemplateID: templateID, CreatedAt: c.now()}
	created, err := c.Store.Assign(ctx, a)
	return a, created, err
}

// Expansion says which references a read fills in.
type Expansion struct {
	Role, Resource bool // access controls
	AccessControls bool // templates
}

// Expand fills in the roles and resources of access controls, loading each once.
func (c *Catalog) Expand(ctx context.Context, tenant string, acs []AccessControl, x Expansion) error {
	roles, resources := map[string]*Role{}, map[string]*Resource{}
	for i := range acs {
		a := &acs[i]
		if x.Role {
			if roles[a.RoleID] == nil {
				r, err := c.Store.Roles().Get(ctx, tenant, a.RoleID)
				if err != nil {
					return err
				}
				roles[a.RoleID] = r
			}
			a.Role = roles[a.RoleID]
		}
		if x.Resource {
			if resources[a.ResourceID] == nil {
				r, err := c.Store.Resources().Get(ctx, tenant, a.ResourceID)
				if err != nil {
					return err
				}
				resources[a.ResourceID] = r
			}
			a.Resource = resources[a.ResourceID]
		}
	}
	return nil
}

// ExpandTemplates fills in the access controls of templates.
func (c *Catalog) ExpandTemplates(ctx context.Context, tenant string, ts []Template) error {
	cache := map[string]*AccessControl{}
	for i := range ts {
		ts[i].Details = make([]AccessControl, 0, len(ts[i].AccessControls))
		for _, id := range ts[i].AccessControls {
			if cache[id] == nil {
				a, err := c.Store.AccessControls().Get(ctx, tenant, id)
				if err != nil {
					return err
				}
				cache[id] = a
			}
			ts[i].Details = append(ts[i].Details, *cache[id])
		}
	}
	return nil
}

// EffectivePermissions lists what subject may do on a resource (404 if there is no such resource).
func (c *Catalog) EffectivePermissions(ctx context.Context, tenant, subject, resourceID string) ([]Permission, error) {
	if _, err := c.Store.Resources().Get(ctx, tenant, resourceID); err != nil {
		return nil, err
	}
	return c.Store.EffectivePermissions(ctx, tenant, subject, resourceID)
}

// EffectiveAccessControls pages through subject's access controls, on one resource if
// resourceID is set (404 if there is no such resource).
func (c *Catalog) EffectiveAccessControls(ctx context.Context, tenant, subject, resourceID string, x Expansion, offset, limit int) ([]AccessControl, int, error) {
	if resourceID != "" {
		if _, err := c.Store.Resources().Get(ctx, tenant, resourceID); err != nil {
			return nil, 0, err
		}
	}
	acs, total, err := c.Store.EffectiveAccessControls(ctx, tenant, subject, resourceID, offset, limit)
	if err != nil {
		return nil, 0, err
	}
	return acs, total, c.Expand(ctx, tenant, acs, x)
}

func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func normalizeRolePermissions(ps []RolePermission) []RolePermission {
	out := make([]RolePermission, len(ps))
	for i, p := range ps {
		out[i] = RolePermission{ID: p.ID, Resources: dedupe(p.Resources)}
	}
	return out
}
