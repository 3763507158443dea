package postgres

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

// RBAC stores resources, permissions, roles, access controls, templates and assignments.
// Every write takes the tenant's RBAC lock, so reference checks, referrer checks and the
// entitled scope sets they republish never interleave with another RBAC write.
type RBAC struct {
	DB *sqlx.DB
	// Scopes republishes the entitled scope sets a change may affect, in its transaction.
	Scopes *ScopeSets
}

var _ rbac.Store = (*RBAC)(nil)

// effectiveAccessControls is the ids of the access controls assigned to the principals
// (see principals; $1 tenant), directly or through a template.
const effectiveAccessControls = `SELECT a.access_control_id AS id FROM rbac_assignments a
	WHERE a.tenant = $1 AND a.access_control_id IS NOT NULL AND a.subject IN (SELECT subject FROM principals)
	UNION SELECT t.access_control_id FROM rbac_assignments a
	JOIN rbac_template_access_controls t ON t.tenant = a.tenant AND t.template_id = a.template_id
	WHERE a.tenant = $1 AND a.subject IN (SELECT subject FROM principals)`

// textMap is a localized text in a jsonb column.
type textMap map[string]string

func (m *textMap) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok {
		return fmt.Errorf("localized text: unexpected %T", src)
	}
	return json.Unmarshal(b, m)
}

func (m textMap) Value() (driver.Value, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(map[string]string(m))
	return string(b), err
}

type entryRow struct {
	Tenant      string    `db:"tenant"`
	ID          string    `db:"id"`
	Name        textMap   `db:"name"`
	Description textMap   `db:"description"`
	Version     int64     `db:"version"`
	CreatedAt   time.Time `db:"created_at"`
	ModifiedAt  time.Time `db:"modified_at"`
	Total       int       `db:"total"`
}

const entryColumns = `x.tenant, x.id, x.name, x.description, x.version, x.created_at, x.modified_at`

func (r entryRow) entry() rbac.Entry {
	return rbac.Entry{Tenant: r.Tenant, ID: r.ID, Name: r.Name, Description: r.Description, Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), ModifiedAt: r.ModifiedAt.UTC()}
}

// write runs fn in a transaction holding the tenant's RBAC lock.
func (s *RBAC) write(ctx context.Context, tenant string, fn func(tx *sqlx.Tx) error) error {
	return postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if err := postgres.LockTenant(ctx, tx, rbacLock, tenant); err != nil {
			return err
		}
		return fn(tx)
	})
}

// selectEntries reads rows of one kind: table aliased x, the common filters of q as
// $2..$4, paging as $5/$6, and extra conditions on $7, $8...
func selectEntries[R any](ctx context.Context, q sqlx.QueryerContext, columns, table, extra string, tenant string, query rbac.Query, args ...any) ([]R, error) {
	var rows []R
	all := append([]any{tenant, postgres.EscapeLike(query.Name), postgres.EscapeLike(query.Description), query.ModifiedSince, query.Limit, query.Offset}, args...)
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT `+columns+`, count(*) OVER () AS total FROM `+table+` x
		WHERE x.tenant = $1
		  AND ($2 = '' OR EXISTS (SELECT 1 FROM jsonb_each_text(x.name) t WHERE t.value ILIKE '%' || $2 || '%'))
		  AND ($3 = '' OR EXISTS (SELECT 1 FROM jsonb_each_text(x.description) t WHERE t.value ILIKE '%' || $3 || '%'))
		  AND ($4::timestamptz IS NULL OR x.modified_at >= $4::timestamptz) `+extra+`
		ORDER BY `+orderBy(query)+` LIMIT $5 OFFSET $6`, all...)
	return rows, postgres.Classify(err)
}

// orderBy is the ORDER BY of a listing: its sort keys (checked by the domain), then the
// oldest first, so pages never overlap.
func orderBy(q rbac.Query) string {
	lang := q.Language
	if lang == "" {
		lang = "en"
	}
	text := func(column string) string {
		return `coalesce(x.` + column + `->>` + pq.QuoteLiteral(lang) + `, x.` + column + `->>'en', '')`
	}
	var parts []string
	for _, k := range q.Sort {
		var expr string
		switch k.Field {
		case rbac.SortName:
			expr = text("name")
		case rbac.SortDescr:
			expr = text("description")
		case rbac.SortCode:
			expr = "x.code"
		case rbac.SortID:
			expr = "x.id"
		case rbac.SortCreatedAt:
			expr = "x.created_at"
		case rbac.SortModifiedAt:
			expr = "x.modified_at"
		default:
			continue
		}
		if k.Desc {
			expr += " DESC"
		}
		parts = append(parts, expr)
	}
	return strings.Join(append(parts, "x.created_at", "x.id"), ", ")
}

// getEntry reads one row of a kind, locked for update when lock is set.
func getEntry[R any](ctx context.Context, q sqlx.QueryerContext, columns, table, noun, tenant, id string, lock bool) (*R, error) {
	var row R
	sql := `SELECT ` + columns + `, 0 AS total FROM ` + table + ` x WHERE x.tenant = $1 AND x.id = $2`
	if lock {
		sql += ` FOR UPDATE OF x`
	}
	err := sqlx.GetContext(ctx, q, &row, sql, tenant, id)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return nil, errs.E(errs.NotFound, "%s %q not found", noun, id)
	}
	return &row, postgres.Classify(err)
}

// existing returns which of ids exist in table, share-locked so they cannot go away
// before the referring write commits.
func existing(ctx context.Context, tx *sqlx.Tx, table, tenant string, ids []string) (map[string]bool, error) {
	var found []string
	if err := tx.SelectContext(ctx, &found, `SELECT id FROM `+table+` WHERE tenant = $1 AND id = ANY($2) FOR SHARE`,
		tenant, pq.StringArray(ids)); err != nil {
		return nil, postgres.Classify(err)
	}
	out := make(map[string]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// referrer finds, with a query on $1 tenant and $2 id, what still refers to an entry.
type referrer struct{ what, query string }

// deleteUnreferenced deletes one entry of table (404 if there is none), unless a
// referrer still finds something: then 409 naming every referrer found.
func (s *RBAC) deleteUnreferenced(ctx context.Context, table, noun, tenant, id string, refs ...referrer) error {
	return s.write(ctx, tenant, func(tx *sqlx.Tx) error {
		var named []string
		for _, r := range refs {
			var ids []string
			if err := tx.SelectContext(ctx, &ids, r.query, tenant, id); err != nil {
				return postgres.Classify(err)
			}
			if len(ids) > 0 {
				named = append(named, r.what+" "+strings.Join(ids, ", "))
			}
		}
		if len(named) > 0 {
			return errs.E(errs.Conflict, "%s %q is still used by %s", noun, id, strings.Join(named, "; "))
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE tenant = $1 AND id = $2`, tenant, id)
		if err != nil {
			return postgres.Classify(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "%s %q not found", noun, id)
		}
		return nil
	})
}

// refreshAccessControls republishes the entitled scopes of every subject reached by the
// access controls that accessControls (a query on $1 tenant, $2 arg) selects: those
// they are assigned to directly or through a template, groups expanded by Refresh.
func (s *RBAC) refreshAccessControls(ctx context.Context, tx *sqlx.Tx, tenant, accessControls, arg string) error {
	var subjects []string
	if err := tx.SelectContext(ctx, &subjects, `WITH acs AS (`+accessControls+`)
		SELECT DISTINCT a.subject FROM rbac_assignments a WHERE a.tenant = $1 AND (a.access_control_id IN (SELECT id FROM acs)
			OR a.template_id IN (SELECT t.template_id FROM rbac_template_access_controls t WHERE t.tenant = $1 AND t.access_control_id IN (SELECT id FROM acs)))`,
		tenant, arg); err != nil {
		return postgres.Classify(err)
	}
	return s.Scopes.Refresh(ctx, tx, tenant, subjects)
}

// Resources, Permissions, Roles, AccessControls and Templates are RBAC's collections.
func (s *RBAC) Resources() rbac.Collection[rbac.Resource]           { return resources{s} }
func (s *RBAC) Permissions() rbac.Collection[rbac.Permission]       { return permissions{s} }
func (s *RBAC) Roles() rbac.Collection[rbac.Role]                   { return roles{s} }
func (s *RBAC) AccessControls() rbac.Collection[rbac.AccessControl] { return accessControls{s} }
func (s *RBAC) Templates() rbac.Collection[rbac.Template]           { return templates{s} }

// update is the shape every Update shares: load locked, change, save, re-read.
func update[T any](ctx context.Context, s *RBAC, tenant string, load func(*sqlx.Tx, bool) (*T, error),
	change func(*T) error, save func(*sqlx.Tx, *T) error) (*T, error) {
	var out *T
	err := s.write(ctx, tenant, func(tx *sqlx.Tx) error {
		cur, err := load(tx, true)
		if err != nil {
			return err
		}
		if err := change(cur); err != nil {
			return err
		}
		if err := save(tx, cur); err != nil {
			return err
		}
		out, err = load(tx, false)
		return err
	})
	return out, err
}
