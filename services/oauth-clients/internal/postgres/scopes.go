package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/oauth-clients/internal/events"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
)

// Scopes stores scope definitions.
type Scopes struct{ DB *sqlx.DB }

var _ scopes.Store = (*Scopes)(nil)

type scopeRow struct {
	Tenant            string    `db:"tenant"`
	ID                string    `db:"id"`
	Name              string    `db:"name"`
	DisplayName       string    `db:"display_name"`
	Description       string    `db:"description"`
	UserPolicyID      string    `db:"user_policy_id"`
	DeveloperPolicyID string    `db:"developer_policy_id"`
	BuiltIn           bool      `db:"built_in"`
	Version           int64     `db:"version"`
	CreatedBy         string    `db:"created_by"`
	UpdatedBy         string    `db:"updated_by"`
	CreatedAt         time.Time `db:"created_at"`
	UpdatedAt         time.Time `db:"updated_at"`
	Total             int       `db:"total"`
}

func scopeToRow(d *scopes.Definition) scopeRow {
	id := d.ID
	if id == "" {
		id = d.Name
	}
	return scopeRow{Tenant: d.Tenant, ID: id, Name: d.Name, DisplayName: d.DisplayName, Description: d.Description,
		UserPolicyID: d.UserPolicyID, DeveloperPolicyID: d.DeveloperPolicyID, BuiltIn: d.BuiltIn, Version: d.Version,
		CreatedBy: d.CreatedBy, UpdatedBy: d.UpdatedBy, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

func (r scopeRow) definition() *scopes.Definition {
	return &scopes.Definition{Tenant: r.Tenant, ID: r.ID, Name: r.Name, DisplayName: r.DisplayName, Description: r.Description,
		UserPolicyID: r.UserPolicyID, DeveloperPolicyID: r.DeveloperPolicyID, BuiltIn: r.BuiltIn, Version: r.Version,
		CreatedBy: r.CreatedBy, UpdatedBy: r.UpdatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

const scopeColumns = `tenant, id, name, display_name, description, user_policy_id, developer_policy_id, built_in, version,
	created_by, updated_by, created_at, updated_at`

// visible selects a tenant's own definitions and the built-in ones ($1 tenant, $2 the
// system tenant). A tenant definition that shares a name with a built-in one (made before
// the name became built-in) is hidden by it.
const visible = `(tenant = $1 OR (tenant = $2 AND built_in))`

func scopeNotFound(name string) error { return errs.E(errs.NotFound, "scope %q not found", name) }

func recordScope(ctx context.Context, tx *sqlx.Tx, build func(*scopes.Definition) (pkgevents.Envelope, error), d *scopes.Definition) error {
	ev, err := build(d)
	if err != nil {
		return err
	}
	return pkgevents.Record(ctx, tx, ev)
}

// Create inserts a definition and its event.
func (s *Scopes) Create(ctx context.Context, d *scopes.Definition) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		_, err := tx.NamedExecContext(ctx, `INSERT INTO scope_definitions (`+scopeColumns+`)
			VALUES (:tenant, :id, :name, :display_name, :description, :user_policy_id, :developer_policy_id, :built_in, :version,
			        :created_by, :updated_by, :created_at, :updated_at)`, scopeToRow(d))
		if postgres.IsUniqueViolation(err, "") {
			return errs.E(errs.Conflict, "scope %q (id %q) already exists", d.Name, scopeToRow(d).ID)
		}
		if err != nil {
			return postgres.Classify(err)
		}
		return recordScope(ctx, tx, events.ScopeChanged, d)
	})
}

// Get loads one definition visible in tenant.
func (s *Scopes) Get(ctx context.Context, tenant, name string) (*scopes.Definition, error) {
	var row scopeRow
	err := s.DB.GetContext(ctx, &row, `SELECT `+scopeColumns+`, 0 AS total FROM scope_definitions
		WHERE `+visible+` AND name = $3 ORDER BY built_in DESC LIMIT 1`, tenant, auth.SystemTenant, name)
	if err != nil {
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil, scopeNotFound(name)
		}
		return nil, postgres.Classify(err)
	}
	return row.definition(), nil
}

// NameOf finds the name of the definition visible in tenant whose id is id.
func (s *Scopes) NameOf(ctx context.Context, tenant, id string) (string, error) {
	var name string
	err := s.DB.GetContext(ctx, &name, `SELECT name FROM scope_definitions
		WHERE `+visible+` AND id = $3 ORDER BY built_in DESC LIMIT 1`, tenant, auth.SystemTenant, id)
	if err != nil {
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return "", errs.E(errs.NotFound, "no scope has id %q", id)
		}
		return "", postgres.Classify(err)
	}
	return name, nil
}

// List pages through the definitions visible in tenant, by name.
func (s *Scopes) List(ctx context.Context, tenant string, q scopes.ListQuery) (scopes.Page, error) {
	const filtered = `SELECT DISTINCT ON (name) ` + scopeColumns + ` FROM scope_definitions
		WHERE ` + visible + ` AND ($3 = '' OR name ILIKE '%' || $3 || '%' OR display_name ILIKE '%' || $3 || '%'
		      OR description ILIKE '%' || $3 || '%')
		ORDER BY name, built_in DESC`
	var rows []scopeRow
	search := postgres.EscapeLike(q.Search)
	if err := s.DB.SelectContext(ctx, &rows, `SELECT *, count(*) OVER () AS total FROM (`+filtered+`) d
		ORDER BY name LIMIT $4 OFFSET $5`, tenant, auth.SystemTenant, search, q.Limit, q.Offset); err != nil {
		return scopes.Page{}, postgres.Classify(err)
	}
	page := scopes.Page{Definitions: make([]scopes.Definition, 0, len(rows))}
	for _, r := range rows {
		page.Definitions = append(page.Definitions, *r.definition())
		page.Total = r.Total
	}
	if len(rows) == 0 && q.Offset > 0 {
		if err := s.DB.GetContext(ctx, &page.Total, `SELECT count(*) FROM (`+filtered+`) d`, tenant, auth.SystemTenant, search); err != nil {
			return scopes.Page{}, postgres.Classify(err)
		}
	}
	return page, nil
}

func lockScope(ctx context.Context, tx *sqlx.Tx, tenant, name string) (*scopes.Definition, error) {
	var row scopeRow
	err := tx.GetContext(ctx, &row, `SELECT `+scopeColumns+`, 0 AS total FROM scope_definitions
		WHERE tenant = $1 AND name = $2 FOR UPDATE`, tenant, name)
	if err != nil {
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			return nil, scopeNotFound(name)
		}
		return nil, postgres.Classify(err)
	}
	return row.definition(), nil
}

// Update locks the tenant's definition, lets change modify it and saves it with its event.
func (s *Scopes) Update(ctx context.Context, tenant, name string, change func(*scopes.Definition) error) (*scopes.Definition, error) {
	var out *scopes.Definition
	err := postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		d, err := lockScope(ctx, tx, tenant, name)
		if err != nil {
			return err
		}
		if err := change(d); err != nil {
			return err
		}
		if _, err := tx.NamedExecContext(ctx, `UPDATE scope_definitions SET display_name = :display_name,
			description = :description, user_policy_id = :user_policy_id, developer_policy_id = :developer_policy_id,
			version = :version, updated_by = :updated_by, updated_at = :updated_at
			WHERE tenant = :tenant AND name = :name`, scopeToRow(d)); err != nil {
			return postgres.Classify(err)
		}
		out = d
		return recordScope(ctx, tx, events.ScopeChanged, d)
	})
	return out, err
}

// Delete removes a tenant's definition once decide allows it; with force, the scope is
// first dropped from every client listing it, each client with its own event.
func (s *Scopes) Delete(ctx context.Context, tenant, name string, force bool, actor string, decide func(*scopes.Definition, []string) error) ([]string, error) {
	var changed []string
	err := postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		changed = nil
		d, err := lockScope(ctx, tx, tenant, name)
		if err != nil {
			return err
		}
		var usedBy []string
		if err := tx.SelectContext(ctx, &usedBy, `SELECT id FROM clients
			WHERE tenant = $1 AND metadata -> 'scopes' @> jsonb_build_array($2::text) ORDER BY id`, tenant, name); err != nil {
			return postgres.Classify(err)
		}
		if err := decide(d, usedBy); err != nil {
			return err
		}
		if force {
			now := time.Now().UTC()
			for _, id := range usedBy {
				c, err := lockClient(ctx, tx, tenant, id)
				if err != nil {
					return err
				}
				if c.DropScope(name, actor, now) {
					if err := saveClient(ctx, tx, c); err != nil {
						return err
					}
					changed = append(changed, id)
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM scope_definitions WHERE tenant = $1 AND name = $2`, tenant, name); err != nil {
			return postgres.Classify(err)
		}
		return recordScope(ctx, tx, events.ScopeDeleted, d)
	})
	return changed, err
}

// EnsureBuiltIn upserts the built-in definitions, recording an event only for those
// inserted or changed; a replica starting at the same time finds nothing to do.
func (s *Scopes) EnsureBuiltIn(ctx context.Context, defs []scopes.Definition) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		for i := range defs {
			rows, err := sqlx.NamedQueryContext(ctx, tx, `INSERT INTO scope_definitions (`+scopeColumns+`)
				VALUES (:tenant, :id, :name, :display_name, :description, :user_policy_id, :developer_policy_id, true, :version,
				        :created_by, :updated_by, :created_at, :updated_at)
				ON CONFLICT (tenant, name) DO UPDATE SET display_name = EXCLUDED.display_name,
					description = EXCLUDED.description, built_in = true, version = scope_definitions.version + 1,
					updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at
				WHERE scope_definitions.display_name <> EXCLUDED.display_name
				   OR scope_definitions.description <> EXCLUDED.description OR NOT scope_definitions.built_in
				RETURNING `+scopeColumns+`, 0 AS total`, scopeToRow(&defs[i]))
			if err != nil {
				return postgres.Classify(err)
			}
			var changed []scopeRow
			for rows.Next() {
				var r scopeRow
				if err := rows.StructScan(&r); err != nil {
					_ = rows.Close()
					return postgres.Classify(err)
				}
				changed = append(changed, r)
			}
			if err := rows.Err(); err != nil {
				_ = rows.Close()
				return postgres.Classify(err)
			}
			if err := rows.Close(); err != nil {
				return postgres.Classify(err)
			}
			for _, r := range changed {
				if err := recordScope(ctx, tx, events.ScopeChanged, r.definition()); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
