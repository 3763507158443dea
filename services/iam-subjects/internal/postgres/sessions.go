package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-subjects/internal/signin"
)

// StartSession records the challenge's use, ends the browser's previous session and
// stores the new one, in one transaction: a challenge accepted twice at once starts one
// session, not two.
func (s *Credentials) StartSession(ctx context.Context, c signin.UsedChallenge, replaces []byte, sess signin.Session, tokenHash []byte) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if err := useChallenge(ctx, tx, c); err != nil {
			return err
		}
		if replaces != nil {
			if _, err := tx.ExecContext(ctx, `DELETE FROM login_sessions WHERE token_hash = $1`, replaces); err != nil {
				return postgres.Classify(err)
			}
		}
		// The user's row is share-locked: a session cannot start beside a concurrent lock
		// or password change that is ending the user's sessions.
		var locked bool
		if err := tx.GetContext(ctx, &locked, `SELECT is_account_locked FROM users WHERE tenant = $1 AND id = $2 FOR SHARE`,
			sess.Tenant, sess.UserID); err != nil {
			if errs.Is(postgres.Classify(err), errs.NotFound) {
				return notFound("user", sess.UserID)
			}
			return postgres.Classify(err)
		}
		if locked {
			return signin.ErrAccountLocked
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO login_sessions (token_hash, tenant, id, user_id, auth_time, amr, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, tokenHash, sess.Tenant, sess.ID, sess.UserID, sess.AuthTime,
			pq.StringArray(sess.AMR), sess.CreatedAt, sess.ExpiresAt)
		return postgres.Classify(err)
	})
}

type sessionRow struct {
	Tenant     string         `db:"tenant"`
	ID         string         `db:"id"`
	UserID     string         `db:"user_id"`
	AuthTime   time.Time      `db:"auth_time"`
	AMR        pq.StringArray `db:"amr"`
	CreatedAt  time.Time      `db:"created_at"`
	ExpiresAt  time.Time      `db:"expires_at"`
	UserLocked bool           `db:"is_account_locked"`
}

// Session reads an unexpired session with its user's lock.
func (s *Credentials) Session(ctx context.Context, tenant string, tokenHash []byte, now time.Time) (*signin.Session, error) {
	var r sessionRow
	err := s.DB.GetContext(ctx, &r, `SELECT l.tenant, l.id, l.user_id, l.auth_time, l.amr, l.created_at, l.expires_at, u.is_account_locked
		FROM login_sessions l JOIN users u ON u.tenant = l.tenant AND u.id = l.user_id
		WHERE l.token_hash = $1 AND l.tenant = $2 AND l.expires_at > $3`, tokenHash, tenant, now)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	return &signin.Session{Tenant: r.Tenant, ID: r.ID, UserID: r.UserID, AuthTime: r.AuthTime.UTC(), AMR: r.AMR,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), UserLocked: r.UserLocked}, nil
}

// EndSession deletes the session with this token hash.
func (s *Credentials) EndSession(ctx context.Context, tenant string, tokenHash []byte) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM login_sessions WHERE token_hash = $1 AND tenant = $2`, tokenHash, tenant)
	return postgres.Classify(err)
}

// EndSessionByID deletes the session with this public id.
func (s *Credentials) EndSessionByID(ctx context.Context, tenant, sid string) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM login_sessions WHERE tenant = $1 AND id = $2`, tenant, sid)
	return postgres.Classify(err)
}

// Prune deletes expired sessions and the records of challenges that have expired.
func (s *Credentials) Prune(ctx context.Context, now time.Time) error {
	if _, err := s.DB.ExecContext(ctx, `DELETE FROM login_sessions WHERE expires_at <= $1`, now); err != nil {
		return postgres.Classify(err)
	}
	_, err := s.DB.ExecContext(ctx, `DELETE FROM used_challenges WHERE expires_at <= $1`, now)
	return postgres.Classify(err)
}
