package rbac

import (
	"context"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
)

// Permission is something one may do (read) on the resources it applies to.
type Permission struct {
	Entry
	Code                string
	ApplicableResources []string
}

// CheckReferences checks a permission's applicable resources against those that exist.
func (p *Permission) CheckReferences(resources map[string]bool) error {
	if missing := Missing(p.ApplicableResources, resources); len(missing) > 0 {
		return invalid("permission", []errs.FieldError{Unknown("applicableResources", "resources", missing)})
	}
	return nil
}

// PermissionFields are what a caller sets on a permission.
type PermissionFields struct {
	Name, Description   map[string]string
	Code                string
	ApplicableResources []string
	// Echo is what the write sent back of the read-only fields (read-modify-write).
	Echo Echo
}

// CreatePermission adds a permission.
func (c *Catalog) CreatePermission(ctx context.Context, tenant string, f PermissionFields) (*Permission, error) {
	if err := f.Echo.onCreate(); err != nil {
		return nil, err
	}
	if err := invalid("permission", checkName(f.Name)); err != nil {
		return nil, err
	}
	p := &Permission{Entry: c.newEntry(tenant, c.newID(), f.Name, f.Description), Code: f.Code, ApplicableResources: dedupe(f.ApplicableResources)}
	return p, c.store.Permissions().Create(ctx, p)
}

// UpdatePermission replaces a permission.
func (c *Catalog) UpdatePermission(ctx context.Context, tenant, id string, f PermissionFields, pre precondition.Version) (*Permission, error) {
	if err := invalid("permission", checkName(f.Name)); err != nil {
		return nil, err
	}
	return c.store.Permissions().Update(ctx, tenant, id, func(p *Permission) error {
		p.Code, p.ApplicableResources = f.Code, dedupe(f.ApplicableResources)
		return c.revise(&p.Entry, pre, f.Echo, nil, f.Name, f.Description)
	})
}

// GetPermission reads a permission.
func (c *Catalog) GetPermission(ctx context.Context, tenant, id string) (*Permission, error) {
	return c.store.Permissions().Get(ctx, tenant, id)
}

// ListPermissions pages through permissions.
func (c *Catalog) ListPermissions(ctx context.Context, tenant string, q Query) ([]Permission, int, error) {
	if err := q.checkSort(true); err != nil {
		return nil, 0, err
	}
	return c.store.Permissions().List(ctx, tenant, q)
}

// DeletePermission deletes a permission no role has.
func (c *Catalog) DeletePermission(ctx context.Context, tenant, id string) error {
	return c.store.Permissions().Delete(ctx, tenant, id)
}
