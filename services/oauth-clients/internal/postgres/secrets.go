package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/events"
)

type secretRow struct {
	ID          string     `db:"id"`
	Hash        string     `db:"hash"`
	Hint        string     `db:"hint"`
	Description string     `db:"description"`
	CreatedAt   time.Time  `db:"created_at"`
	ExpiresAt   *time.Time `db:"expires_at"`
}

func (r secretRow) secret() clients.Secret {
	return clients.Secret{ID: r.ID, Hash: r.Hash, Hint: r.Hint, Description: r.Description, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt}
}

func insertSecret(ctx context.Context, tx *sqlx.Tx, tenant, clientID string, s *clients.Secret) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO client_secrets (tenant, client_id, id, hash, hint, description, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, tenant, clientID, s.ID, s.Hash, s.Hint, s.Description, s.CreatedAt, s.ExpiresAt); err != nil {
		return postgres.Classify(err)
	}
	ev, err := events.SecretAdded(tenant, clientID, s)
	if err != nil {
		return err
	}
	return pkgevents.Record(ctx, tx, ev)
}

// AddSecret stores a new secret of an existing client.
func (s *Clients) AddSecret(ctx context.Context, tenant, clientID string, secret *clients.Secret) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if _, err := lockClient(ctx, tx, tenant, clientID); err != nil {
			return err
		}
		return insertSecret(ctx, tx, tenant, clientID, secret)
	})
}

// Secrets lists a client's secrets, newest first.
func (s *Clients) Secrets(ctx context.Context, tenant, clientID string) ([]clients.Secret, error) {
	if _, err := s.Get(ctx, tenant, clientID); err != nil {
		return nil, err
	}
	var rows []secretRow
	if err := s.DB.SelectContext(ctx, &rows, `SELECT id, hash, hint, description, created_at, expires_at FROM client_secrets
		WHERE tenant = $1 AND client_id = $2 ORDER BY created_at DESC, id`, tenant, clientID); err != nil {
		return nil, postgres.Classify(err)
	}
	out := make([]clients.Secret, len(rows))
	for i, r := range rows {
		out[i] = r.secret()
	}
	return out, nil
}

// DeleteSecret removes one secret and records its tombstone, the secret's last event (a
// secret id is never used again), which is expedited once committed.
func (s *Clients) DeleteSecret(ctx context.Context, tenant, clientID, secretID string) error {
	var recorded []pkgevents.Envelope
	err := postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM client_secrets WHERE tenant = $1 AND client_id = $2 AND id = $3`, tenant, clientID, secretID)
		if err != nil {
			return postgres.Classify(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "secret %q of client %q not found", secretID, clientID)
		}
		ev, err := events.SecretDeleted(tenant, clientID, secretID)
		if err != nil {
			return err
		}
		recorded, err = pkgevents.RecordExpedited(ctx, tx, ev)
		return err
	})
	if err == nil {
		s.Expedite.Publish(recorded...)
	}
	return err
}
