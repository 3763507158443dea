package rbac

import (
	"context"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
)

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

// AccessControlFields are what a caller sets on an access control.
type AccessControlFields struct {
	Name, Description  map[string]string
	RoleID, ResourceID string
	// Echo is what the write sent back of the read-only fields (read-modify-write).
	Echo Echo
}

// CreateAccessControl adds an access control.
func (c *Catalog) CreateAccessControl(ctx context.Context, tenant string, f AccessControlFields) (*AccessControl, error) {
	if err := f.Echo.onCreate(); err != nil {
		return nil, err
	}
	if err := invalid("access control", checkName(f.Name)); err != nil {
		return nil, err
	}
	a := &AccessControl{Entry: c.newEntry(tenant, c.newID(), f.Name, f.Description), RoleID: f.RoleID, ResourceID: f.ResourceID}
	return a, c.store.AccessControls().Create(ctx, a)
}

// UpdateAccessControl replaces an access control.
func (c *Catalog) UpdateAccessControl(ctx context.Context, tenant, id string, f AccessControlFields, pre precondition.Version) (*AccessControl, error) {
	if err := invalid("access control", checkName(f.Name)); err != nil {
		return nil, err
	}
	return c.store.AccessControls().Update(ctx, tenant, id, func(a *AccessControl) error {
		a.RoleID, a.ResourceID = f.RoleID, f.ResourceID
		return c.revise(&a.Entry, pre, f.Echo, a.Scopes, f.Name, f.Description)
	})
}

// GetAccessControl reads an access control, with the references x asks for.
func (c *Catalog) GetAccessControl(ctx context.Context, tenant, id string, x Expansion) (*AccessControl, error) {
	a, err := c.store.AccessControls().Get(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	one := []AccessControl{*a}
	if err := c.expand(ctx, tenant, one, x); err != nil {
		return nil, err
	}
	return &one[0], nil
}

// ListAccessControls pages through access controls, with the references x asks for.
func (c *Catalog) ListAccessControls(ctx context.Context, tenant string, q Query, x Expansion) ([]AccessControl, int, error) {
	if err := q.checkSort(false); err != nil {
		return nil, 0, err
	}
	found, total, err := c.store.AccessControls().List(ctx, tenant, q)
	if err != nil {
		return nil, 0, err
	}
	return found, total, c.expand(ctx, tenant, found, x)
}

// DeleteAccessControl deletes an access control no template or assignment uses.
func (c *Catalog) DeleteAccessControl(ctx context.Context, tenant, id string) error {
	return c.store.AccessControls().Delete(ctx, tenant, id)
}

// expand fills in the roles and resources of access controls, loading each once.
func (c *Catalog) expand(ctx context.Context, tenant string, acs []AccessControl, x Expansion) error {
	roles, resources := map[string]*Role{}, map[string]*Resource{}
	for i := range acs {
		a := &acs[i]
		if x.Role {
			if roles[a.RoleID] == nil {
				r, err := c.store.Roles().Get(ctx, tenant, a.RoleID)
				if err != nil {
					return err
				}
				roles[a.RoleID] = r
			}
			a.Role = roles[a.RoleID]
		}
		if x.Resource {
			if resources[a.ResourceID] == nil {
				r, err := c.store.Resources().Get(ctx, tenant, a.ResourceID)
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
