package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/consent/internal/consents"
)

// Store keeps consents, grants and the privacy ledger.
type Store struct{ DB *sqlx.DB }

var _ consents.Store = (*Store)(nil)

type consentRow struct {
	Tenant         string         `db:"tenant"`
	ID             string         `db:"id"`
	Name           string         `db:"name"`
	Description    string         `db:"description"`
	CanBeWithdrawn bool           `db:"can_be_withdrawn"`
	PIICategories  pq.StringArray `db:"pii_categories"`
	ValidFrom      *time.Time     `db:"valid_from"`
	Services       []byte         `db:"services"`
	Version        int64          `db:"version"`
	CreatedAt      time.Time      `db:"created_at"`
	ModifiedAt     time.Time      `db:"modified_at"`
	Total          int            `db:"total"`
}

const consentColumns = `tenant, id, name, description, can_be_withdrawn, pii_categories, valid_from, services, version, created_at, modified_at`

func (r consentRow) consent() consents.Consent {
	c := consents.Consent{Tenant: r.Tenant, ID: r.ID, Name: r.Name, Description: r.Description, CanBeWithdrawn: r.CanBeWithdrawn,
		PIICategories: r.PIICategories, ValidFrom: r.ValidFrom, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), ModifiedAt: r.ModifiedAt.UTC()}
	_ = json.Unmarshal(r.Services, &c.Services)
	if c.PIICategories == nil {
		c.PIICategories = []string{}
	}
	if c.Services == nil {
		c.Services = []consents.Service{}
	}
	return c
}

func nameTaken(err error, name string) error {
	if postgres.IsUniqueViolation(err, "consents_name_key") {
		return errs.E(errs.Conflict, "consent %q already exists", name)
	}
	return postgres.Classify(err)
}

// CreateConsent inserts a consent.
func (s *Store) CreateConsent(ctx context.Context, c *consents.Consent) error {
	services, _ := json.Marshal(c.Services)
	_, err := s.DB.ExecContext(ctx, `INSERT INTO consents (`+consentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.Tenant, c.ID, c.Name, c.Description, c.CanBeWithdrawn, pq.StringArray(c.PIICategories), c.ValidFrom, services, c.Version, c.CreatedAt, c.ModifiedAt)
	return nameTaken(err, c.Name)
}

func getConsent(ctx context.Context, q sqlx.QueryerContext, tenant, id string, lock bool) (*consents.Consent, error) {
	query := `SELECT ` + consentColumns + `, 0 AS total FROM consents WHERE tenant = $1 AND id = $2`
	if lock {
		query += ` FOR UPDATE`
	}
	var row consentRow
	if err := sqlx.GetContext(ctx, q, &row, query, tenant, id); err != nil {
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil, errs.E(errs.NotFound, "consent %q not found", id)
		}
		return nil, postgres.Classify(err)
	}
	c := row.consent()
	return &c, nil
}

// GetConsent loads one consent.
func (s *Store) GetConsent(ctx context.Context, tenant, id string) (*consents.Consent, error) {
	return getConsent(ctx, s.DB, tenant, id, false)
}

// ListConsents pages through consents by name.
func (s *Store) ListConsents(ctx context.Context, tenant, search string, offset, limit int) ([]consents.Consent, int, error) {
	var rows []consentRow
	if err := s.DB.SelectContext(ctx, &rows, `SELECT `+consentColumns+`, count(*) OVER () AS total FROM consents
		WHERE tenant = $1 AND ($2 = '' OR name ILIKE '%' || $2 || '%' OR description ILIKE '%' || $2 || '%')
		ORDER BY name LIMIT $3 OFFSET $4`, tenant, postgres.EscapeLike(search), limit, offset); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]consents.Consent, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.consent(), r.Total
	}
	return out, total, nil
}

// UpdateConsent saves a new version and applies the strategy to existing grants, recording
// every moved grant and every required re-consent in the ledger.
func (s *Store) UpdateConsent(ctx context.Context, tenant, id string, change func(*consents.Consent) error, strategy consents.Strategy) (*consents.Consent, error) {
	var out *consents.Consent
	err := postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		c, err := getConsent(ctx, tx, tenant, id, true)
		if err != nil {
			return err
		}
		if err := change(c); err != nil {
			return err
		}
		services, _ := json.Marshal(c.Services)
		if _, err := tx.ExecContext(ctx, `UPDATE consents SET name = $3, description = $4, can_be_withdrawn = $5, pii_categories = $6,
			valid_from = $7, services = $8, version = $9, modified_at = $10 WHERE tenant = $1 AND id = $2`,
			tenant, id, c.Name, c.Description, c.CanBeWithdrawn, pq.StringArray(c.PIICategories), c.ValidFrom, services, c.Version, c.ModifiedAt); err != nil {
			return nameTaken(err, c.Name)
		}
		moves := map[consents.Strategy]string{consents.ImplicitAll: `true`, consents.KeepCurrent: `grant_type = 'implicit'`}
		var moved []string
		if where, ok := moves[strategy]; ok {
			if err := tx.SelectContext(ctx, &moved, `UPDATE grants SET granted_version = $3, grant_type = 'implicit'
				WHERE tenant = $1 AND consent_id = $2 AND `+where+` RETURNING subject`, tenant, id, c.Version); err != nil {
				return postgres.Classify(err)
			}
		}
		var stale []string
		if err := tx.SelectContext(ctx, &stale, `SELECT subject FROM grants WHERE tenant = $1 AND consent_id = $2 AND granted_version < $3 ORDER BY subject`,
			tenant, id, c.Version); err != nil {
			return postgres.Classify(err)
		}
		var evs []consents.LedgerEvent
		for _, subject := range moved {
			evs = append(evs, consents.LedgerEvent{Type: consents.VersionMigrated, Subject: subject, ConsentID: id, ConsentVersion: c.Version,
				GrantType: string(consents.Implicit), OccurredAt: c.ModifiedAt})
		}
		for _, subject := range stale {
			evs = append(evs, consents.LedgerEvent{Type: consents.ReconsentRequired, Subject: subject, ConsentID: id, ConsentVersion: c.Version, OccurredAt: c.ModifiedAt})
		}
		out = c
		return appendLedger(ctx, tx, tenant, evs)
	})
	return out, err
}

// DeleteConsent removes a consent; its grants go with it, the ledger keeps their history.
func (s *Store) DeleteConsent(ctx context.Context, tenant, id string) error {
	res, err := s.DB.ExecContext(ctx, `DELETE FROM consents WHERE tenant = $1 AND id = $2`, tenant, id)
	if err != nil {
		return postgres.Classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "consent %q not found", id)
	}
	return nil
}

// Grants tells, for every consent of the tenant, where the subject stands.
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
		out[i] = consents.GrantStatus{ConsentID: r.ConsentID, Name: r.Name, CurrentVersion: r.CurrentVersion, GrantedVersion: r.GrantedVersion,
			Granted: r.GrantedVersion != nil, NeedsReconsent: r.GrantedVersion != nil && *r.GrantedVersion < r.CurrentVersion}
		if r.GrantType != nil {
			out[i].Type = consents.GrantType(*r.GrantType)
		}
	}
	return out, nil
}

// ChangeGrants applies grant and withdrawal requests for one subject in one transaction,
// with a ledger event each. Concurrent changes for the same subject are serialized.
func (s *Store) ChangeGrants(ctx context.Context, tenant, subject string, reqs []consents.GrantRequest, gc consents.GrantContext,
	check func(*consents.Consent, consents.GrantRequest) error) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('consent-grants'), hashtext($1 || '/' || $2))`, tenant, subject); err != nil {
			return postgres.Classify(err)
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
		now := time.Now().UTC()
		circumstances := map[string]string{}
		for k, v := range map[string]string{"ip": gc.IP, "device": gc.Device, "location": gc.Location} {
			if v != "" {
				circumstances[k] = v
			}
		}
		var evs []consents.LedgerEvent
		for i, r := range reqs {
			c := found[i]
			if err := check(c, r); err != nil {
				return err
			}
			ev := consents.LedgerEvent{Subject: subject, ConsentID: c.ID, ConsentVersion: c.Version, GrantType: string(r.Type),
				Context: circumstances, Language: gc.Language, ActionID: gc.ActionID, OccurredAt: now}
			if r.Granted {
				ev.Type = consents.Granted
				_, err := tx.ExecContext(ctx, `INSERT INTO grants (tenant, subject, consent_id, granted_version, grant_type, granted_at)
					VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant, subject, consent_id) DO UPDATE
					SET granted_version = EXCLUDED.granted_version, grant_type = EXCLUDED.grant_type, granted_at = EXCLUDED.granted_at`,
					tenant, subject, c.ID, c.Version, string(r.Type), now)
				if err != nil {
					return postgres.Classify(err)
				}
			} else {
				ev.Type = consents.Revoked
				if _, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE tenant = $1 AND subject = $2 AND consent_id = $3`, tenant, subject, c.ID); err != nil {
					return postgres.Classify(err)
				}
			}
			evs = append(evs, ev)
		}
		return appendLedger(ctx, tx, tenant, evs)
	})
}

// ForgetSubject removes a deleted subject's live grants and records that in the ledger.
func (s *Store) ForgetSubject(ctx context.Context, tenant, subject string) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		return forgetSubject(ctx, tx, tenant, subject)
	})
}

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

// SubjectDeleted is the consumer's entry: a deleted user or client loses its live grants.
func (s *Store) SubjectDeleted(ctx context.Context, tx *sqlx.Tx, tenant, subject string) error {
	return forgetSubject(ctx, tx, tenant, subject)
}
