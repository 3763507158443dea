package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

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
