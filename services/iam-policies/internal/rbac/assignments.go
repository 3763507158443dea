package rbac

import (
	"context"
	"time"

	"github.com/iamplane/iam/pkg/errs"
)

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

// AssignmentQuery filters and pages assignments.
type AssignmentQuery struct {
	Subject         string
	AccessControlID string
	TemplateID      string
	Offset, Limit   int
}

// Assign gives subject an access control or a template (exactly one of the two ids).
func (c *Catalog) Assign(ctx context.Context, tenant, subject, accessControlID, templateID string) (*Assignment, bool, error) {
	if (accessControlID == "") == (templateID == "") {
		return nil, false, errs.Fields("an assignment names exactly one access control or template",
			errs.FieldError{Field: "accessControlId", Message: "exactly one of accessControlId and templateId"},
			errs.FieldError{Field: "templateId", Message: "exactly one of accessControlId and templateId"})
	}
	a := &Assignment{Tenant: tenant, ID: c.newID(), Subject: subject, AccessControlID: accessControlID, TemplateID: templateID, CreatedAt: c.now()}
	created, err := c.store.Assign(ctx, a)
	return a, created, err
}

// ListAssignments pages through assignments, oldest first.
func (c *Catalog) ListAssignments(ctx context.Context, tenant string, q AssignmentQuery) ([]Assignment, int, error) {
	return c.store.ListAssignments(ctx, tenant, q)
}

// Unassign removes an assignment.
func (c *Catalog) Unassign(ctx context.Context, tenant, id string) error {
	return c.store.Unassign(ctx, tenant, id)
}

// EffectivePermissions lists what subject may do on a resource (404 if there is no such resource).
func (c *Catalog) EffectivePermissions(ctx context.Context, tenant, subject, resourceID string) ([]Permission, error) {
	if _, err := c.store.Resources().Get(ctx, tenant, resourceID); err != nil {
		return nil, err
	}
	return c.store.EffectivePermissions(ctx, tenant, subject, resourceID)
}

// EffectiveAccessControls pages through subject's access controls, on one resource if
// resourceID is set (404 if there is no such resource).
func (c *Catalog) EffectiveAccessControls(ctx context.Context, tenant, subject, resourceID string, x Expansion, offset, limit int) ([]AccessControl, int, error) {
	if resourceID != "" {
		if _, err := c.store.Resources().Get(ctx, tenant, resourceID); err != nil {
			return nil, 0, err
		}
	}
	acs, total, err := c.store.EffectiveAccessControls(ctx, tenant, subject, resourceID, offset, limit)
	if err != nil {
		return nil, 0, err
	}
	return acs, total, c.expand(ctx, tenant, acs, x)
}
