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

// Store keeps consents, grants, client access and the privacy ledger (consents.go,
// grants.go, client_access.go, ledger.go), and the views of other services' events the
// consumer writes.
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
	Texts          []byte         `db:"texts"`
	Strategy       string         `db:"update_existing_grants"`
	Version        int64          `db:"version"`
	CreatedAt      time.Time      `db:"created_at"`
	ModifiedAt     time.Time      `db:"modified_at"`
	Total          int            `db:"total"`
}

const consentColumns = `tenant, id, name, description, can_be_withdrawn, pii_categories, valid_from, services, texts, update_existing_grants, version, created_at, modified_at`

func (r consentRow) consent() consents.Consent {
	c := consents.Consent{Tenant: r.Tenant, ID: r.ID, Name: r.Name, Description: r.Description, CanBeWithdrawn: r.CanBeWithdrawn,
		PIICategories: r.PIICategories, ValidFrom: r.ValidFrom, UpdateExistingGrants: consents.Strategy(r.Strategy), Version: r.Version, CreatedAt: r.CreatedAt.UTC(), ModifiedAt: r.ModifiedAt.UTC()}
	_ = json.Unmarshal(r.Services, &c.Services)
	_ = json.Unmarshal(r.Texts, &c.Texts)
	if c.PIICategories == nil {
		c.PIICategories = []string{}
	}
	if c.Services == nil {
		c.Services = []consents.Service{}
	}
	return c
}

// textsJSON stores a consent's texts; none is an empty object.
func textsJSON(texts map[string]consents.ConsentText) []byte {
	if len(texts) == 0 {
		return []byte("{}")
	}
	raw, _ := json.Marshal(texts)
	return raw
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
	_, err := s.DB.ExecContext(ctx, `INSERT INTO consents (`+consentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.Tenant, c.ID, c.Name, c.Description, c.CanBeWithdrawn, pq.StringArray(c.PIICategories), c.ValidFrom, services, textsJSON(c.Texts),
		string(c.UpdateExistingGrants), c.Version, c.CreatedAt, c.ModifiedAt)
	if postgres.IsUniqueViolation(err, "consents_pkey") {
		return errs.E(errs.Conflict, "consent %q already exists", c.ID)
	}
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
	const where = `WHERE tenant = $1 AND ($2 = '' OR name ILIKE '%' || $2 || '%' OR description ILIKE '%' || $2 || '%')`
	var rows []consentRow
	if err := s.DB.SelectContext(ctx, &rows, `SELECT `+consentColumns+`, count(*) OVER () AS total FROM consents `+where+`
		ORDER BY name LIMIT $3 OFFSET $4`, tenant, postgres.EscapeLike(search), limit, offset); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]consents.Consent, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.consent(), r.Total
	}
	if len(rows) == 0 && offset > 0 {
		// A page past the end has no row to carry the total.
		if err := s.DB.GetContext(ctx, &total, `SELECT count(*) FROM consents `+where, tenant, postgres.EscapeLike(search)); err != nil {
			return nil, 0, postgres.Classify(err)
		}
	}
	return out, total, nil
}

func grantTypes(ts []consents.GrantType) pq.StringArray {
	out := make(pq.StringArray, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

// UpdateConsent saves a new version and moves the grants the strategy migrates, recording
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
			valid_from = $7, services = $8, texts = $9, version = $10, modified_at = $11, update_existing_grants = $12 WHERE tenant = $1 AND id = $2`,
			tenant, id, c.Name, c.Description, c.CanBeWithdrawn, pq.StringArray(c.PIICategories), c.ValidFrom, services, textsJSON(c.Texts),
			c.Version, c.ModifiedAt, string(c.UpdateExistingGrants)); err != nil {
			return nameTaken(err, c.Name)
		}
		var migrated []string
		if types := strategy.Migrates(); len(types) > 0 {
			if err := tx.SelectContext(ctx, &migrated, `UPDATE grants SET granted_version = $3, grant_type = $4
				WHERE tenant = $1 AND consent_id = $2 AND grant_type = ANY($5) RETURNING subject`, tenant, id, c.Version, consents.Implicit, grantTypes(types)); err != nil {
				return postgres.Classify(err)
			}
		}
		var stale []string
		if err := tx.SelectContext(ctx, &stale, `SELECT subject FROM grants WHERE tenant = $1 AND consent_id = $2 AND granted_version < $3 ORDER BY subject`,
			tenant, id, c.Version); err != nil {
			return postgres.Classify(err)
		}
		out = c
		return appendLedger(ctx, tx, tenant, consents.VersionEvents(c, migrated, stale))
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
