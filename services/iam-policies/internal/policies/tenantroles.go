package policies

import "context"

// TenantRoles reads subject's tenant roles (none if it has never been given any).
func (e *Engine) TenantRoles(ctx context.Context, tenant, subject string) ([]string, error) {
	return e.store.TenantRoles(ctx, tenant, subject)
}

// SetTenantRoles replaces subject's tenant roles.
func (e *Engine) SetTenantRoles(ctx context.Context, tenant, subject string, roles []string) error {
	return e.store.SetTenantRoles(ctx, tenant, subject, roles)
}
