package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/actions"
)

// Actions stores the actions catalog.
type Actions struct{ DB *sqlx.DB }

var _ actions.Store = (*Actions)(nil)

type actionRow struct {
	Tenant      string    `db:"tenant"`
	ID          string    `db:"id"`
	DisplayName string    `db:"display_name"`
	Description string    `db:"description"`
	Version     int64     `db:"version"`
	CreatedAt   time.Time `db:"created_at"`
	ModifiedAt  time.Time `db:"modified_at"`
	Total       int       `db:"total"`
}

// Add inserts an action.
func (s *Actions) Add(ctx context.Context, a *actions.Action) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO actions (tenant, id, display_name, description, version, created_at, modified_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.Tenant, a.ID, a.DisplayName, a.Description, a.Version, a.CreatedAt, a.ModifiedAt)
	if postgres.IsUniqueViolation(err, "") {
		return errs.E(errs.Conflict, "action %q already exists", a.ID)
	}
	return postgres.Classify(err)
}

// List pages through the catalog by id.
func (s *Actions) List(ctx context.Context, tenant string, q actions.Query) ([]actions.Action, int, error) {
	var rows []actionRow
	err := s.DB.SelectContext(ctx, &rows, `
		SELECT tenant, id, display_name, description, version, created_at, modified_at, count(*) OVER () AS total
		FROM actions WHERE tenant = $1 AND ($2 = '' OR id ILIKE '%' || $2 || '%' OR display_name ILIKE '%' || $2 || '%')
		ORDER BY id LIMIT $3 OFFSET $4`, tenant, postgres.EscapeLike(q.Search), q.Limit, q.Offset)
	if err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]actions.Action, len(rows)), 0
	for i, r := range rows {
		out[i] = actions.Action{Tenant: r.Tenant, ID: r.ID, DisplayName: r.DisplayName, Description: r.Description,
			Version: r.Version, CreatedAt: r.CreatedAt.UTC(), ModifiedAt: r.ModifiedAt.UTC()}
		total = r.Total
	}
	return out, total, nil
}
