package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/oauth-clients/internal/events"
	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
)

// Revocations stores revoked access tokens until they expire.
type Revocations struct {
	DB *sqlx.DB
	// Expedite, if set, publishes a revocation's event as soon as it has committed,
	// ahead of the outbox relay (which still publishes it): every service's deny set
	// follows these events, and their lag is how long a revoked token still works.
	Expedite *pkgevents.Expediter
}

var _ tokens.Revocations = (*Revocations)(nil)

// Revoke records a revocation and, in the same transaction, its event, which every
// service's token check follows; revoking twice is harmless (and publishes once).
func (r *Revocations) Revoke(ctx context.Context, rv tokens.Revocation) error {
	var recorded []pkgevents.Envelope
	err := postgres.InTx(ctx, r.DB, func(tx *sqlx.Tx) error {
		var err error
		recorded, err = recordRevocation(ctx, tx, rv)
		return err
	})
	if err == nil {
		r.Expedite.Publish(recorded...)
	}
	return err
}

// revoke records a revocation and its event in tx, once.
func revoke(ctx context.Context, tx *sqlx.Tx, rv tokens.Revocation) error {
	_, err := recordRevocation(ctx, tx, rv)
	return err
}

// recordRevocation records a revocation and its event in tx, once, and returns the event
// as recorded (none when the token was revoked already).
func recordRevocation(ctx context.Context, tx *sqlx.Tx, rv tokens.Revocation) ([]pkgevents.Envelope, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO revoked_tokens (tenant, jti, client_id, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant, jti) DO NOTHING`, rv.Tenant, rv.JTI, rv.ClientID, rv.ExpiresAt)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, err
	}
	ev, err := events.TokenRevoked(rv.Tenant, rv.JTI, rv.ClientID, rv.Subject, rv.ExpiresAt)
	if err != nil {
		return nil, err
	}
	// A revocation is its subject's one and only event: it may go out at once.
	return pkgevents.RecordExpedited(ctx, tx, ev)
}

// Revoked reports whether the token was revoked.
func (r *Revocations) Revoked(ctx context.Context, tenant, jti string) (bool, error) {
	var revoked bool
	err := r.DB.GetContext(ctx, &revoked, `SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE tenant = $1 AND jti = $2)`, tenant, jti)
	return revoked, postgres.Classify(err)
}

// Prune forgets revocations of tokens that have expired anyway, with the source-side
// record of their events (published_versions, which the views' digests read), and
// returns the NATS subjects of the forgotten revocations, for the caller to purge from
// the stream.
func (r *Revocations) Prune(ctx context.Context) ([]string, error) {
	var subjects []string
	err := postgres.InTx(ctx, r.DB, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(ctx, &subjects, `
			WITH gone AS (DELETE FROM revoked_tokens WHERE expires_at < now() - interval '1 minute' RETURNING tenant, jti)
			SELECT 'iam.' || tenant || '.clients.revocation.' || jti FROM gone`); err != nil {
			return err
		}
		if len(subjects) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM published_versions WHERE subject = ANY($1)`, pq.Array(subjects))
		return err
	})
	return subjects, postgres.Classify(err)
}
