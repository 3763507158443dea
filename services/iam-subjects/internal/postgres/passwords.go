package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-subjects/internal/signin"
)

// Credentials implements signin.Store: passwords, login sessions and used challenges,
// none of which is ever published.
type Credentials struct {
	DB *sqlx.DB
}

var _ signin.Store = (*Credentials)(nil)

type credentialRow struct {
	Tenant   string         `db:"tenant"`
	UserID   string         `db:"id"`
	Username sql.NullString `db:"username"`
	Email    sql.NullString `db:"email"`
	Locked   bool           `db:"is_account_locked"`
	Hash     sql.NullString `db:"hash"`
}

func (r credentialRow) credential() *signin.Credential {
	return &signin.Credential{Tenant: r.Tenant, UserID: r.UserID, Username: r.Username.String, Email: r.Email.String,
		Locked: r.Locked, Hash: r.Hash.String}
}

const credentialQuery = `SELECT u.tenant, u.id, u.username, u.email, u.is_account_locked, p.hash
	FROM users u LEFT JOIN user_passwords p ON p.tenant = u.tenant AND p.user_id = u.id`

// CredentialByLogin finds the user by username, else by email, case-insensitively
// (the unique indexes users_username and users_email); a username that is someone
// else's email names its own user.
func (s *Credentials) CredentialByLogin(ctx context.Context, tenant, login string) (*signin.Credential, error) {
	var rows []credentialRow
	if err := s.DB.SelectContext(ctx, &rows, credentialQuery+`
		WHERE u.tenant = $1 AND (lower(u.username) = lower($2) OR lower(u.email) = lower($2))
		ORDER BY lower(u.username) = lower($2) DESC NULLS LAST LIMIT 1`, tenant, login); err != nil {
		return nil, postgres.Classify(err)
	}
	if len(rows) == 0 {
		return nil, errs.E(errs.NotFound, "no such user")
	}
	return rows[0].credential(), nil
}

// Credential finds the user with this id.
func (s *Credentials) Credential(ctx context.Context, tenant, userID string) (*signin.Credential, error) {
	userID = userKey(userID)
	var row credentialRow
	if err := s.DB.GetContext(ctx, &row, credentialQuery+` WHERE u.tenant = $1 AND u.id = $2`, tenant, userID); err != nil {
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil, notFound("user", userID)
		}
		return nil, postgres.Classify(err)
	}
	return row.credential(), nil
}

// SetPassword stores the hash and ends the user's sessions, with the user's row locked so
// that a concurrent delete cannot leave a password without its user.
func (s *Credentials) SetPassword(ctx context.Context, tenant, userID, hash string, now time.Time) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		var exists bool
		if err := tx.GetContext(ctx, &exists, `SELECT true FROM users WHERE tenant = $1 AND id = $2 FOR UPDATE`, tenant, userID); err != nil {
			if errs.Is(postgres.Classify(err), errs.NotFound) {
				return notFound("user", userID)
			}
			return postgres.Classify(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_passwords (tenant, user_id, hash, changed_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant, user_id) DO UPDATE SET hash = excluded.hash, changed_at = excluded.changed_at`,
			tenant, userID, hash, now); err != nil {
			return postgres.Classify(err)
		}
		return endUserSessions(ctx, tx, tenant, userID)
	})
}

// Rehash replaces the hash only if nobody changed the password meanwhile.
func (s *Credentials) Rehash(ctx context.Context, tenant, userID, oldHash, newHash string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE user_passwords SET hash = $4 WHERE tenant = $1 AND user_id = $2 AND hash = $3`,
		tenant, userID, oldHash, newHash)
	return postgres.Classify(err)
}

// endUserSessions ends every login session of a user: its password changed, or it was
// locked.
func endUserSessions(ctx context.Context, tx *sqlx.Tx, tenant, userID string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM login_sessions WHERE tenant = $1 AND user_id = $2`, tenant, userID)
	return postgres.Classify(err)
}
