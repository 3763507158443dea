package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
)

// AccessRevocations is the view of consent's client-access revocations.
type AccessRevocations struct{ DB *sqlx.DB }

var _ tokens.AccessRevocations = (*AccessRevocations)(nil)

// Revoke records that subject took client's access away at at; an earlier re-grant no
// longer counts.
func (a *AccessRevocations) Revoke(ctx context.Context, tx *sqlx.Tx, tenant, clientID, subject string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO client_access_revocations (tenant, client_id, subject, revoked_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant, client_id, subject) DO UPDATE
		SET revoked_at = greatest(client_access_revocations.revoked_at, EXCLUDED.revoked_at), regranted_at = NULL`,
		tenant, clientID, subject, at)
	return postgres.Classify(err)
}

// Regrant records that subject let client in again at at. Without an earlier revocation
// there is nothing to lift: a first grant changes nothing here. The consumer applies a
// re-grant only when it is newer than the revocation (by entity version), so a clock
// behind the revocation's is read as the revocation's own time.
func (a *AccessRevocations) Regrant(ctx context.Context, tx *sqlx.Tx, tenant, clientID, subject string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE client_access_revocations SET regranted_at = greatest($4, revoked_at)
		WHERE tenant = $1 AND client_id = $2 AND subject = $3`, tenant, clientID, subject, at)
	return postgres.Classify(err)
}

// AccessRevocation returns the subject's revocation of the client's access, if any.
func (a *AccessRevocations) AccessRevocation(ctx context.Context, tenant, clientID, subject string) (*tokens.AccessRevocation, error) {
	var row struct {
		RevokedAt   time.Time  `db:"revoked_at"`
		RegrantedAt *time.Time `db:"regranted_at"`
	}
	err := a.DB.GetContext(ctx, &row, `SELECT revoked_at, regranted_at FROM client_access_revocations
		WHERE tenant = $1 AND client_id = $2 AND subject = $3`, tenant, clientID, subject)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, postgres.Classify(err)
	}
	return &tokens.AccessRevocation{RevokedAt: row.RevokedAt, RegrantedAt: row.RegrantedAt}, nil
}

// Prune forgets revocations lifted longer than ttl ago: every token they still block has
// expired by then.
func (a *AccessRevocations) Prune(ctx context.Context, ttl time.Duration) error {
	_, err := a.DB.ExecContext(ctx, `DELETE FROM client_access_revocations
		WHERE regranted_at < now() - make_interval(secs => $1) - interval '1 minute'`, ttl.Seconds())
	return postgres.Classify(err)
}
