package rbac

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
)

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

// RoleFields are what a caller sets on a role.
type RoleFields struct {
	Name, Description map[string]string
	Permissions       []RolePermission
	// Echo is what the write sent back of the read-only fields (read-modify-write).
	Echo Echo
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

// CreateRole adds a role.
func (c *Catalog) CreateRole(ctx context.Context, tenant string, f RoleFields) (*Role, error) {
	if err := f.Echo.onCreate(); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	r := &Role{Entry: c.newEntry(tenant, c.newID(), f.Name, f.Description), Permissions: normalizeRolePermissions(f.Permissions)}
	return r, c.store.Roles().Create(ctx, r)
}

// UpdateRole replaces a role.
func (c *Catalog) UpdateRole(ctx context.Context, tenant, id string, f RoleFields, pre precondition.Version) (*Role, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return c.store.Roles().Update(ctx, tenant, id, func(r *Role) error {
		r.Permissions = normalizeRolePermissions(f.Permissions)
		return c.revise(&r.Entry, pre, f.Echo, nil, f.Name, f.Description)
	})
}

// GetRole reads a role.
func (c *Catalog) GetRole(ctx context.Context, tenant, id string) (*Role, error) {
	return c.store.Roles().Get(ctx, tenant, id)
}

// ListRoles pages through roles.
func (c *Catalog) ListRoles(ctx context.Context, tenant string, q Query) ([]Role, int, error) {
	if err := q.checkSort(false); err != nil {
		return nil, 0, err
	}
	return c.store.Roles().List(ctx, tenant, q)
}

// DeleteRole deletes a role no access control uses.
func (c *Catalog) DeleteRole(ctx context.Context, tenant, id string) error {
	return c.store.Roles().Delete(ctx, tenant, id)
}

func normalizeRolePermissions(ps []RolePermission) []RolePermission {
	out := make([]RolePermission, len(ps))
	for i, p := range ps {
		out[i] = RolePermission{ID: p.ID, Resources: dedupe(p.Resources)}
	}
	return out
}
