package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/consent/internal/consents"
)

// Grants reads, for every consent of the tenant, the subject's grant of it.
func (s *Store) Grants(ctx context.Context, tenant, subject string) ([]consents.GrantStatus, error) {
	var rows []struct {
		ConsentID      string  `db:"id"`
		Name           string  `db:"name"`
		CurrentVersion int64   `db:"version"`
		GrantedVersion *int64  `db:"granted_version"`
		GrantType      *string `db:"grant_type"`
	}
	if err := s.DB.SelectContext(ctx, &rows, `SELECT c.id, c.name, c.version, g.granted_version, g.grant_type FROM consents c
		LEFT JOIN grants g ON g.tenant = c.tenant AND g.consent_id = c.id AND g.subject = $2
		WHERE c.tenant = $1 ORDER BY c.name`, tenant, subject); err != nil {
		return nil, postgres.Classify(err)
	}
	out := make([]consents.GrantStatus, len(rows))
	for i, r := range rows {
		out[i] = consents.GrantStatus{ConsentID: r.ConsentID, Name: r.Name, CurrentVersion: r.CurrentVersion, GrantedVersion: r.GrantedVersion}
		if r.GrantType != nil {
			out[i].Type = consents.GrantType(*r.GrantType)
		}
	}
	return out, nil
}

// ChangeGrants applies grant and withdrawal requests for one subject in one transaction,
// with the ledger event record gives each. Concurrent changes for the same subject are
// serialized.
func (s *Store) ChangeGrants(ctx context.Context, tenant, subject string, reqs []consents.GrantRequest,
	record func(found []*consents.Consent) ([]consents.LedgerEvent, error)) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		return changeGrants(ctx, tx, tenant, subject, reqs, record)
	})
}

// changeGrants is ChangeGrants inside tx, which the consent screen shares with its other
// records.
func changeGrants(ctx context.Context, tx *sqlx.Tx, tenant, subject string, reqs []consents.GrantRequest,
	record func(found []*consents.Consent) ([]consents.LedgerEvent, error)) error {
	if err := lockSubjectGrants(ctx, tx, tenant, subject); err != nil {
		return err
	}
	var bad []errs.FieldError
	found := make([]*consents.Consent, len(reqs))
	for i, r := range reqs {
		c, err := getConsent(ctx, tx, tenant, r.ConsentID, false)
		if errs.Is(err, errs.NotFound) {
			bad = append(bad, errs.FieldError{Field: "grants", Message: "consent " + r.ConsentID + " does not exist"})
			continue
		}
		if err != nil {
			return err
		}
		found[i] = c
	}
	if len(bad) > 0 {
		return errs.Fields("unknown consents; nothing was changed", bad...)
	}
	evs, err := record(found)
	if err != nil {
		return err
	}
	for i, r := range reqs {
		c, ev := found[i], evs[i]
		if r.Granted {
			_, err = tx.ExecContext(ctx, `INSERT INTO grants (tenant, subject, consent_id, granted_version, grant_type, granted_at)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant, subject, consent_id) DO UPDATE
				SET granted_version = EXCLUDED.granted_version, grant_type = EXCLUDED.grant_type, granted_at = EXCLUDED.granted_at`,
				tenant, subject, c.ID, c.Version, string(r.Type), ev.OccurredAt)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM grants WHERE tenant = $1 AND subject = $2 AND consent_id = $3`, tenant, subject, c.ID)
		}
		if err != nil {
			return postgres.Classify(err)
		}
	}
	return appendLedger(ctx, tx, tenant, evs)
}

// lockSubjectGrants serializes the changes of one subject's grants, until tx ends. It is
// taken before the ledger's lock (appendLedger), by everyone, so the two never deadlock.
func lockSubjectGrants(ctx context.Context, tx *sqlx.Tx, tenant, subject string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('consent-grants'), hashtext($1 || '/' || $2))`, tenant, subject)
	return postgres.Classify(err)
}

// SubjectDeleted is the consumer's entry: a deleted user or client loses its live grants.
func (s *Store) SubjectDeleted(ctx context.Context, tx *sqlx.Tx, tenant, subject string) error {
	return forgetSubject(ctx, tx, tenant, subject)
}

// forgetSubject removes a deleted subject's live grants and records that in the ledger
// (which keeps the subject's history as evidence).
func forgetSubject(ctx context.Context, tx *sqlx.Tx, tenant, subject string) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE tenant = $1 AND subject = $2`, tenant, subject)
	if err != nil {
		return postgres.Classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	return appendLedger(ctx, tx, tenant, []consents.LedgerEvent{{Type: consents.SubjectDeleted, Subject: subject, OccurredAt: time.Now().UTC()}})
}
