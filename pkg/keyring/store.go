package keyring

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/postgres"
)

// Postgres stores the key ring's signing keys.
type Postgres struct{ DB *sqlx.DB }

var _ Store = (*Postgres)(nil)

// keyLockKey serializes key creation and rotation across replicas.
const keyLockKey = 0x1a3_7e75

type keyRow struct {
	Kid        string     `db:"kid"`
	PrivateKey []byte     `db:"private_key"`
	CreatedAt  time.Time  `db:"created_at"`
	RetiredAt  *time.Time `db:"retired_at"`
}

// seconds and milliseconds write a duration as a PostgreSQL interval.
func seconds(d time.Duration) string      { return fmt.Sprintf("%d seconds", int(d.Seconds())) }
func milliseconds(d time.Duration) string { return fmt.Sprintf("%d milliseconds", d.Milliseconds()) }

// AddFirst stores key unless an active key exists; the lock makes replicas starting at
// once create one key between them.
func (s *Postgres) AddFirst(ctx context.Context, key StoredKey) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, keyLockKey); err != nil {
			return err
		}
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM signing_keys WHERE retired_at IS NULL`); err != nil {
			return err
		}
		if n == 0 {
			return insertKey(ctx, tx, key)
		}
		return nil
	})
}

func insertKey(ctx context.Context, tx *sqlx.Tx, key StoredKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, alg, private_key) VALUES ($1, 'EdDSA', $2)`, key.Kid, key.Seed)
	return err
}

// Published reads the active key and those retired less than retiredWithin ago.
func (s *Postgres) Published(ctx context.Context, retiredWithin time.Duration) ([]StoredKey, error) {
	var rows []keyRow
	if err := s.DB.SelectContext(ctx, &rows, `
		SELECT kid, private_key, created_at, retired_at FROM signing_keys
		WHERE retired_at IS NULL OR retired_at > now() - $1::interval
		ORDER BY created_at DESC`, seconds(retiredWithin)); err != nil {
		return nil, postgres.Classify(err)
	}
	keys := make([]StoredKey, len(rows))
	for i, r := range rows {
		keys[i] = StoredKey{Kid: r.Kid, Seed: r.PrivateKey, CreatedAt: r.CreatedAt, RetiredAt: r.RetiredAt}
	}
	return keys, nil
}

// Rotate retires the active key and stores key in its place.
func (s *Postgres) Rotate(ctx context.Context, key StoredKey) error {
	err := postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, keyLockKey); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL`); err != nil {
			return err
		}
		return insertKey(ctx, tx, key)
	})
	return postgres.Classify(err)
}

// RotateIfOlder rotates to key when the active key is older than age, under a lock only
// one replica at a time gets (the others skip), and deletes keys retired more than
// purgeAfter ago.
func (s *Postgres) RotateIfOlder(ctx context.Context, age time.Duration, key StoredKey, purgeAfter time.Duration) (bool, error) {
	rotated := false
	err := postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		rotated = false
		var leader bool
		if err := tx.GetContext(ctx, &leader, `SELECT pg_try_advisory_xact_lock($1)`, keyLockKey); err != nil || !leader {
			return err
		}
		var due bool
		if err := tx.GetContext(ctx, &due, `SELECT coalesce(max(created_at) < now() - $1::interval, true)
			FROM signing_keys WHERE retired_at IS NULL`, milliseconds(age)); err != nil {
			return err
		}
		if !due {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM signing_keys WHERE retired_at < now() - $1::interval`, seconds(purgeAfter)); err != nil {
			return err
		}
		rotated = true
		return insertKey(ctx, tx, key)
	})
	if err != nil {
		return false, postgres.Classify(err)
	}
	return rotated, nil
}
