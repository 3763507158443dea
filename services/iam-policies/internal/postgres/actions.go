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

func (r actionRow) action() actions.Action {
	return actions.Action{Tenant: r.Tenant, ID: r.ID, DisplayName: r.DisplayName, Description: r.Description,
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), ModifiedAt: r.ModifiedAt.UTC()}
}

const actionColumns = `tenant, id, display_name, description, version, created_at, modified_at`

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
		SELECT `+actionColumns+`, count(*) OVER () AS total
		FROM actions WHERE tenant = $1 AND ($2 = '' OR id ILIKE '%' || $2 || '%' OR display_name ILIKE '%' || $2 || '%')
		ORDER BY id LIMIT $3 OFFSET $4`, tenant, postgres.EscapeLike(q.Search), q.Limit, q.Offset)
	if err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]actions.Action, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.action(), r.Total
	}
	return out, total, nil
}

// Get reads one action.
func (s *Actions) Get(ctx context.Context, tenant, id string) (*actions.Action, error) {
	return getAction(ctx, s.DB, tenant, id, "")
}

func getAction(ctx context.Context, q sqlx.QueryerContext, tenant, id, lock string) (*actions.Action, error) {
	var r actionRow
	err := sqlx.GetContext(ctx, q, &r, `SELECT `+actionColumns+`, 0 AS total FROM actions WHERE tenant = $1 AND id = $2 `+lock, tenant, id)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return nil, errs.E(errs.NotFound, "action %q not found", id)
	}
	if err != nil {
		return nil, postgres.Classify(err)
	}
	a := r.action()
	return &a, nil
}

// Update applies change to the action, locked, and stores it.
func (s *Actions) Update(ctx context.Context, tenant, id string, change func(*actions.Action) error) (*actions.Action, error) {
	var out *actions.Action
	err := postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		a, err := getAction(ctx, tx, tenant, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		if err := change(a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE actions SET display_name = $3, description = $4, version = $5, modified_at = $6
			WHERE tenant = $1 AND id = $2`, tenant, id, a.DisplayName, a.Description, a.Version, a.ModifiedAt); err != nil {
			return postgres.Classify(err)
		}
		out = a
		return nil
	})
	return out, err
}

// Delete removes an action that no policy grants.
func (s *Actions) Delete(ctx context.Context, tenant, id string) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if _, err := getAction(ctx, tx, tenant, id, "FOR UPDATE"); err != nil {
			return err
		}
		var granted int
		if err := tx.GetContext(ctx, &granted, `SELECT count(*) FROM policies WHERE tenant = $1 AND action = $2`, tenant, id); err != nil {
			return postgres.Classify(err)
		}
		if granted > 0 {
			return errs.E(errs.Conflict, "action %q is granted by %d policies; revoke them first", id, granted)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM actions WHERE tenant = $1 AND id = $2`, tenant, id)
		return postgres.Classify(err)
	})
}
