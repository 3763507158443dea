package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/consent/internal/consents"
)

// ConsentActions stores consent actions.
type ConsentActions struct{ DB *sqlx.DB }

var _ consents.ActionStore = (*ConsentActions)(nil)

type actionRow struct {
	Tenant      string    `db:"tenant"`
	ID          uuid.UUID `db:"id"`
	Name        string    `db:"name"`
	Description string    `db:"description"`
	Version     int64     `db:"version"`
	CreatedAt   time.Time `db:"created_at"`
	ModifiedAt  time.Time `db:"modified_at"`
	Total       int       `db:"total"`
}

// Add inserts a consent action; a name the tenant already has is a conflict.
func (s *ConsentActions) Add(ctx context.Context, a *consents.Action) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO consent_actions (tenant, id, name, description, version, created_at, modified_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.Tenant, a.ID, a.Name, a.Description, a.Version, a.CreatedAt, a.ModifiedAt)
	if postgres.IsUniqueViolation(err, "consent_actions_name_key") {
		return errs.E(errs.Conflict, "consent action %q already exists", a.Name)
	}
	return postgres.Classify(err)
}

// List pages through consent actions by name.
func (s *ConsentActions) List(ctx context.Context, tenant string, q consents.Query) ([]consents.Action, int, error) {
	var rows []actionRow
	err := s.DB.SelectContext(ctx, &rows, `
		SELECT tenant, id, name, description, version, created_at, modified_at, count(*) OVER () AS total
		FROM consent_actions WHERE tenant = $1 AND ($2 = '' OR name ILIKE '%' || $2 || '%' OR description ILIKE '%' || $2 || '%')
		ORDER BY name LIMIT $3 OFFSET $4`, tenant, postgres.EscapeLike(q.Search), q.Limit, q.Offset)
	if err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]consents.Action, len(rows)), 0
	for i, r := range rows {
		out[i] = consents.Action{Tenant: r.Tenant, ID: r.ID, Name: r.Name, Description: r.Description,
			Version: r.Version, CreatedAt: r.CreatedAt.UTC(), ModifiedAt: r.ModifiedAt.UTC()}
		total = r.Total
	}
	return out, total, nil
}
