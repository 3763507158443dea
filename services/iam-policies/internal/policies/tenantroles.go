package policies

import (
	"context"

	"github.com/iamplane/iam/pkg/readonly"
)

// TenantRoles reads subject's tenant roles (none if it has never been given any).
func (e *Engine) TenantRoles(ctx context.Context, tenant, subject string) ([]string, error) {
	return e.store.TenantRoles(ctx, tenant, subject)
}

// SetTenantRoles replaces subject's tenant roles.
//
// echoSubject is the subject a GET showed, when the caller sent it back
// (read-modify-write): it must be the path's.
func (e *Engine) SetTenantRoles(ctx context.Context, tenant, subject string, roles []string, echoSubject *string) error {
	var ro readonly.Check
	ro.String("subject", echoSubject, subject)
	if err := ro.Err(); err != nil {
		return err
	}
	return e.store.SetTenantRoles(ctx, tenant, subject, roles)
}
