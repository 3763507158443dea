package rbac

import (
	"context"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
)

// Template is a named set of access controls, assigned as one. Details are filled in
// only when expanded.
type Template struct {
	Entry
	AccessControls []string
	Details        []AccessControl
}

// CheckReferences checks a template's access controls exist.
func (t *Template) CheckReferences(accessControls map[string]bool) error {
	if missing := Missing(t.AccessControls, accessControls); len(missing) > 0 {
		return invalid("template", []errs.FieldError{Unknown("accessControls", "access controls", missing)})
	}
	return nil
}

// TemplateFields are what a caller sets on a template.
type TemplateFields struct {
	Name, Description map[string]string
	AccessControls    []string
	// Echo is what the write sent back of the read-only fields (read-modify-write).
	Echo Echo
}

// CreateTemplate adds a template.
func (c *Catalog) CreateTemplate(ctx context.Context, tenant string, f TemplateFields) (*Template, error) {
	if err := f.Echo.onCreate(); err != nil {
		return nil, err
	}
	if err := invalid("template", checkName(f.Name)); err != nil {
		return nil, err
	}
	t := &Template{Entry: c.newEntry(tenant, c.newID(), f.Name, f.Description), AccessControls: dedupe(f.AccessControls)}
	return t, c.store.Templates().Create(ctx, t)
}

// UpdateTemplate replaces a template.
func (c *Catalog) UpdateTemplate(ctx context.Context, tenant, id string, f TemplateFields, pre precondition.Version) (*Template, error) {
	if err := invalid("template", checkName(f.Name)); err != nil {
		return nil, err
	}
	return c.store.Templates().Update(ctx, tenant, id, func(t *Template) error {
		t.AccessControls = dedupe(f.AccessControls)
		return c.revise(&t.Entry, pre, f.Echo, nil, f.Name, f.Description)
	})
}

// GetTemplate reads a template, with its access controls if x asks for them.
func (c *Catalog) GetTemplate(ctx context.Context, tenant, id string, x Expansion) (*Template, error) {
	t, err := c.store.Templates().Get(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	one := []Template{*t}
	if err := c.expandTemplates(ctx, tenant, one, x); err != nil {
		return nil, err
	}
	return &one[0], nil
}

// ListTemplates pages through templates, with their access controls if x asks for them.
func (c *Catalog) ListTemplates(ctx context.Context, tenant string, q Query, x Expansion) ([]Template, int, error) {
	if err := q.checkSort(false); err != nil {
		return nil, 0, err
	}
	found, total, err := c.store.Templates().List(ctx, tenant, q)
	if err != nil {
		return nil, 0, err
	}
	return found, total, c.expandTemplates(ctx, tenant, found, x)
}

// DeleteTemplate deletes a template no assignment uses.
func (c *Catalog) DeleteTemplate(ctx context.Context, tenant, id string) error {
	return c.store.Templates().Delete(ctx, tenant, id)
}

// expandTemplates fills in the access controls of templates, if x asks for them.
func (c *Catalog) expandTemplates(ctx context.Context, tenant string, ts []Template, x Expansion) error {
	if !x.AccessControls {
		return nil
	}
	cache := map[string]*AccessControl{}
	for i := range ts {
		ts[i].Details = make([]AccessControl, 0, len(ts[i].AccessControls))
		for _, id := range ts[i].AccessControls {
			if cache[id] == nil {
				a, err := c.store.AccessControls().Get(ctx, tenant, id)
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
