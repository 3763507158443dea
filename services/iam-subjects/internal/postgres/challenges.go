package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-subjects/internal/signin"
)

// ChallengeUsed reports whether the challenge's use is recorded.
func (s *Credentials) ChallengeUsed(ctx context.Context, c signin.UsedChallenge) (bool, error) {
	var used bool
	err := s.DB.GetContext(ctx, &used, `SELECT EXISTS (SELECT 1 FROM used_challenges WHERE tenant = $1 AND kind = $2 AND id = $3)`,
		c.Tenant, c.Kind, c.ID)
	return used, postgres.Classify(err)
}

// UseChallenge records the challenge's use, once.
func (s *Credentials) UseChallenge(ctx context.Context, c signin.UsedChallenge) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error { return useChallenge(ctx, tx, c) })
}

// useChallenge inserts the use; a second insert of the same challenge finds the first
// (or waits for its transaction) and is signin.ErrChallengeUsed.
func useChallenge(ctx context.Context, tx *sqlx.Tx, c signin.UsedChallenge) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO used_challenges (tenant, kind, id, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, c.Tenant, c.Kind, c.ID, c.ExpiresAt)
	if err != nil {
		return postgres.Classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return signin.ErrChallengeUsed
	}
	return nil
}
