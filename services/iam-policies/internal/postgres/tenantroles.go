package postgres

import (
	"context"

	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"
)

// TenantRoles reads a subject's tenant roles.
func (s *Policies) TenantRoles(ctx context.Context, tenant, subject string) ([]string, error) {
	var roles pq.StringArray
	err := s.DB.GetContext(ctx, &roles, `SELECT roles FROM tenant_roles WHERE tenant = $1 AND subject = $2`, tenant, subject)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return []string{}, nil
	}
	return roles, postgres.Classify(err)
}

// SetTenantRoles replaces a subject's tenant roles.
func (s *Policies) SetTenantRoles(ctx context.Context, tenant, subject string, roles []string) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO tenant_roles (tenant, subject, roles) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, subject) DO UPDATE SET roles = EXCLUDED.roles`, tenant, subject, pq.StringArray(roles))
	return postgres.Classify(err)
}
