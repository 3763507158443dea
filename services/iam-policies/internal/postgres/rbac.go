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
		if err := postgres.LockTenant(ctx, tx, "iam-policies.rbac", tenant); err != nil {
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
		ORDER BY x.created_at, x.id LIMIT $5 OFFSET $6`, all...)
	return rows, postgres.Classify(err)
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

func (s *RBAC) refreshTemplate(ctx context.Context, tx *sqlx.Tx, tenant, templateID string) error {
	var subjects []string
	if err := tx.SelectContext(ctx, &subjects, `SELECT DISTINCT subject FROM rbac_assignments WHERE tenant = $1 AND template_id = $2`,
		tenant, templateID); err != nil {
		return postgres.Classify(err)
	}
	return s.Scopes.Refresh(ctx, tx, tenant, subjects)
}

type assignmentRow struct {
	Tenant          string    `db:"tenant"`
	ID              string    `db:"id"`
	Subject         string    `db:"subject"`
	AccessControlID string    `db:"access_control_id"`
	TemplateID      string    `db:"template_id"`
	CreatedAt       time.Time `db:"created_at"`
	Total           int       `db:"total"`
}

const assignmentColumns = `tenant, id, subject, coalesce(access_control_id, '') AS access_control_id, coalesce(template_id, '') AS template_id, created_at`

func (r assignmentRow) assignment() rbac.Assignment {
	return rbac.Assignment{Tenant: r.Tenant, ID: r.ID, Subject: r.Subject, AccessControlID: r.AccessControlID, TemplateID: r.TemplateID, CreatedAt: r.CreatedAt.UTC()}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Assign stores an assignment unless the subject already has the same one.
func (s *RBAC) Assign(ctx context.Context, a *rbac.Assignment) (bool, error) {
	var created bool
	err := s.write(ctx, a.Tenant, func(tx *sqlx.Tx) error {
		table, field, kind, id := "rbac_access_controls", "accessControlId", "access control", a.AccessControlID
		if a.TemplateID != "" {
			table, field, kind, id = "rbac_templates", "templateId", "template", a.TemplateID
		}
		found, err := existing(ctx, tx, table, a.Tenant, []string{id})
		if err != nil {
			return err
		}
		if !found[id] {
			return errs.Fields("invalid assignment", rbac.Unknown(field, kind, []string{id}))
		}
		var rows []assignmentRow
		if err := tx.SelectContext(ctx, &rows, `INSERT INTO rbac_assignments (tenant, id, subject, access_control_id, template_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (tenant, subject, coalesce(access_control_id, ''), coalesce(template_id, '')) DO NOTHING
			RETURNING `+assignmentColumns+`, 0 AS total`,
			a.Tenant, a.ID, a.Subject, nullable(a.AccessControlID), nullable(a.TemplateID), a.CreatedAt); err != nil {
			return postgres.Classify(err)
		}
		if len(rows) == 0 {
			var row assignmentRow
			if err := tx.GetContext(ctx, &row, `SELECT `+assignmentColumns+`, 0 AS total FROM rbac_assignments
				WHERE tenant = $1 AND subject = $2 AND coalesce(access_control_id, '') = $3 AND coalesce(template_id, '') = $4`,
				a.Tenant, a.Subject, a.AccessControlID, a.TemplateID); err != nil {
				return postgres.Classify(err)
			}
			*a = row.assignment()
			return nil
		}
		created = true
		return s.Scopes.Refresh(ctx, tx, a.Tenant, []string{a.Subject})
	})
	return created, err
}

// Unassign deletes an assignment.
func (s *RBAC) Unassign(ctx context.Context, tenant, id string) error {
	return s.write(ctx, tenant, func(tx *sqlx.Tx) error {
		var subjects []string
		if err := tx.SelectContext(ctx, &subjects, `DELETE FROM rbac_assignments WHERE tenant = $1 AND id = $2 RETURNING subject`, tenant, id); err != nil {
			return postgres.Classify(err)
		}
		if len(subjects) == 0 {
			return errs.E(errs.NotFound, "assignment %q not found", id)
		}
		return s.Scopes.Refresh(ctx, tx, tenant, subjects)
	})
}

// ListAssignments pages through assignments, oldest first.
func (s *RBAC) ListAssignments(ctx context.Context, tenant string, q rbac.AssignmentQuery) ([]rbac.Assignment, int, error) {
	var rows []assignmentRow
	if err := s.DB.SelectContext(ctx, &rows, `SELECT `+assignmentColumns+`, count(*) OVER () AS total FROM rbac_assignments
		WHERE tenant = $1 AND ($2 = '' OR subject = $2) AND ($3 = '' OR access_control_id = $3) AND ($4 = '' OR template_id = $4)
		ORDER BY created_at, id LIMIT $5 OFFSET $6`, tenant, q.Subject, q.AccessControlID, q.TemplateID, q.Limit, q.Offset); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]rbac.Assignment, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.assignment(), r.Total
	}
	return out, total, nil
}

// EffectiveAccessControls pages through the access controls of subject and its groups.
func (s *RBAC) EffectiveAccessControls(ctx context.Context, tenant, subject, resourceID string, offset, limit int) ([]rbac.AccessControl, int, error) {
	var rows []accessControlRow
	if err := s.DB.SelectContext(ctx, &rows, `WITH principals AS (`+principals+`), acs AS (`+effectiveAccessControls+`)
		SELECT `+accessControlColumns+`, count(*) OVER () AS total FROM rbac_access_controls x
		WHERE x.tenant = $1 AND x.id IN (SELECT id FROM acs) AND ($3 = '' OR x.resource_id = $3)
		ORDER BY x.created_at, x.id LIMIT $4 OFFSET $5`, tenant, subject, resourceID, limit, offset); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]rbac.AccessControl, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.accessControl(), r.Total
	}
	return out, total, nil
}

// EffectivePermissions lists the permissions subject's access controls give on a resource.
func (s *RBAC) EffectivePermissions(ctx context.Context, tenant, subject, resourceID string) ([]rbac.Permission, error) {
	var rows []permissionRow
	if err := s.DB.SelectContext(ctx, &rows, `WITH principals AS (`+principals+`), acs AS (`+effectiveAccessControls+`)
		SELECT `+permissionColumns+`, 0 AS total FROM rbac_permissions x
		WHERE x.tenant = $1 AND x.id IN (SELECT s.permission_id FROM rbac_access_control_scopes s
			JOIN rbac_access_controls ac ON ac.tenant = s.tenant AND ac.id = s.access_control_id
			WHERE s.tenant = $1 AND ac.resource_id = $3 AND s.access_control_id IN (SELECT id FROM acs))
		ORDER BY x.code, x.id`, tenant, subject, resourceID); err != nil {
		return nil, postgres.Classify(err)
	}
	return permissionsOf(ctx, s.DB, rows)
}
