package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"
)

// Entitlements is the view of entitled scopes kept from iam-policies' events.
type Entitlements struct{ DB *sqlx.DB }

// Put records a subject's entitled scopes.
func (e *Entitlements) Put(ctx context.Context, tx *sqlx.Tx, tenant, subject string, scopes []string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO entitled_scopes (tenant, subject, scopes) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, subject) DO UPDATE SET scopes = EXCLUDED.scopes`, tenant, subject, pq.StringArray(scopes))
	return postgres.Classify(err)
}

// Scopes returns a subject's entitled scopes (none when iam-policies never published any).
func (e *Entitlements) Scopes(ctx context.Context, tenant, subject string) ([]string, error) {
	var scopes pq.StringArray
	err := e.DB.GetContext(ctx, &scopes, `SELECT scopes FROM entitled_scopes WHERE tenant = $1 AND subject = $2`, tenant, subject)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return nil, nil
	}
	return scopes, postgres.Classify(err)
}
