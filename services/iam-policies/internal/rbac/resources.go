package rbac

import (
	"context"

	"github.com/iamplane/iam/pkg/precondition"
)

// Resource is something permissions apply to (iam.group); its code is unique in the tenant.
type Resource struct {
	Entry
	Code string
}

// ResourceFields are what a caller sets on a resource; likewise for the other kinds.
type ResourceFields struct {
	Name, Description map[string]string
	Code              string
	// Echo is what the write sent back of the read-only fields (read-modify-write).
	Echo Echo
}

// CreateResource adds a resource.
func (c *Catalog) CreateResource(ctx context.Context, tenant string, f ResourceFields) (*Resource, error) {
	if err := f.Echo.onCreate(); err != nil {
		return nil, err
	}
	if err := invalid("resource", checkName(f.Name)); err != nil {
		return nil, err
	}
	r := &Resource{Entry: c.newEntry(tenant, c.newID(), f.Name, f.Description), Code: f.Code}
	return r, c.store.Resources().Create(ctx, r)
}

// UpdateResource replaces a resource.
func (c *Catalog) UpdateResource(ctx context.Context, tenant, id string, f ResourceFields, pre precondition.Version) (*Resource, error) {
	if err := invalid("resource", checkName(f.Name)); err != nil {
		return nil, err
	}
	return c.store.Resources().Update(ctx, tenant, id, func(r *Resource) error {
		r.Code = f.Code
		return c.revise(&r.Entry, pre, f.Echo, nil, f.Name, f.Description)
	})
}

// GetResource reads a resource.
func (c *Catalog) GetResource(ctx context.Context, tenant, id string) (*Resource, error) {
	return c.store.Resources().Get(ctx, tenant, id)
}

// ListResources pages through resources.
func (c *Catalog) ListResources(ctx context.Context, tenant string, q Query) ([]Resource, int, error) {
	if err := q.checkSort(true); err != nil {
		return nil, 0, err
	}
	return c.store.Resources().List(ctx, tenant, q)
}

// DeleteResource deletes a resource nothing refers to.
func (c *Catalog) DeleteResource(ctx context.Context, tenant, id string) error {
	return c.store.Resources().Delete(ctx, tenant, id)
}
