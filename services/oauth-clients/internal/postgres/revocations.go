package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
)

// Revocations stores revoked access tokens until they expire.
type Revocations struct{ DB *sqlx.DB }

var _ tokens.Revocations = (*Revocations)(nil)

// Revoke records a revocation; revoking twice is harmless.
func (r *Revocations) Revoke(ctx context.Context, tenant, jti, clientID string, expiresAt time.Time) error {
	_, err := r.DB.ExecContext(ctx, `INSERT INTO revoked_tokens (tenant, jti, client_id, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant, jti) DO NOTHING`, tenant, jti, clientID, expiresAt)
	return postgres.Classify(err)
}

// Revoked reports whether the token was revoked.
func (r *Revocations) Revoked(ctx context.Context, tenant, jti string) (bool, error) {
	var revoked bool
	err := r.DB.GetContext(ctx, &revoked, `SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE tenant = $1 AND jti = $2)`, tenant, jti)
	return revoked, postgres.Classify(err)
}

// Prune forgets revocations of tokens that have expired anyway.
func (r *Revocations) Prune(ctx context.Context) error {
	_, err := r.DB.ExecContext(ctx, `DELETE FROM revoked_tokens WHERE expires_at < now() - interval '1 minute'`)
	return postgres.Classify(err)
}
