package postgres

import (
	"context"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

type permissions struct{ s *RBAC }

type permissionRow struct {
	entryRow
	Code string `db:"code"`
}

const permissionColumns = entryColumns + `, x.code`

// permissionsOf turns rows into permissions with their applicable resources.
func permissionsOf(ctx context.Context, q sqlx.QueryerContext, rows []permissionRow) ([]rbac.Permission, error) {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var links []struct {
		PermissionID string `db:"permission_id"`
		ResourceID   string `db:"resource_id"`
	}
	if len(rows) > 0 {
		if err := sqlx.SelectContext(ctx, q, &links, `SELECT permission_id, resource_id FROM rbac_permission_resources
			WHERE tenant = $1 AND permission_id = ANY($2) ORDER BY permission_id, position`, rows[0].Tenant, pq.StringArray(ids)); err != nil {
			return nil, postgres.Classify(err)
		}
	}
	byPermission := map[string][]string{}
	for _, l := range links {
		byPermission[l.PermissionID] = append(byPermission[l.PermissionID], l.ResourceID)
	}
	out := make([]rbac.Permission, len(rows))
	for i, r := range rows {
		out[i] = rbac.Permission{Entry: r.entry(), Code: r.Code, ApplicableResources: byPermission[r.ID]}
		if out[i].ApplicableResources == nil {
			out[i].ApplicableResources = []string{}
		}
	}
	return out, nil
}

func (c permissions) load(ctx context.Context, q sqlx.QueryerContext, tenant, id string, lock bool) (*rbac.Permission, error) {
	row, err := getEntry[permissionRow](ctx, q, permissionColumns, "rbac_permissions", "permission", tenant, id, lock)
	if err != nil {
		return nil, err
	}
	ps, err := permissionsOf(ctx, q, []permissionRow{*row})
	if err != nil {
		return nil, err
	}
	return &ps[0], nil
}

func (c permissions) save(ctx context.Context, tx *sqlx.Tx, p *rbac.Permission, isNew bool) error {
	found, err := existing(ctx, tx, "rbac_resources", p.Tenant, p.ApplicableResources)
	if err != nil {
		return err
	}
	if err := p.CheckReferences(found); err != nil {
		return err
	}
	if isNew {
		_, err = tx.ExecContext(ctx, `INSERT INTO rbac_permissions (tenant, id, code, name, description, version, created_at, modified_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, p.Tenant, p.ID, p.Code, textMap(p.Name), textMap(p.Description), p.Version, p.CreatedAt, p.ModifiedAt)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE rbac_permissions SET code = $3, name = $4, description = $5, version = $6, modified_at = $7
			WHERE tenant = $1 AND id = $2`, p.Tenant, p.ID, p.Code, textMap(p.Name), textMap(p.Description), p.Version, p.ModifiedAt)
	}
	if err != nil {
		return postgres.Classify(err)
	}
	return c.saveResources(ctx, tx, p)
}

// saveResources replaces the applicable resources, keeping the rows that stay (roles'
// narrowings point at them).
func (c permissions) saveResources(ctx context.Context, tx *sqlx.Tx, p *rbac.Permission) error {
	var narrowing []string
	if err := tx.SelectContext(ctx, &narrowing, `SELECT DISTINCT role_id FROM rbac_role_permission_resources
		WHERE tenant = $1 AND permission_id = $2 AND NOT (resource_id = ANY($3)) ORDER BY 1`, p.Tenant, p.ID, pq.StringArray(p.ApplicableResources)); err != nil {
		return postgres.Classify(err)
	}
	if len(narrowing) > 0 {
		return errs.E(errs.Conflict, "permission %q: a resource leaving applicableResources is still in the applicablePermissionResources of roles %s",
			p.ID, strings.Join(narrowing, ", "))
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM rbac_permission_resources WHERE tenant = $1 AND permission_id = $2 AND NOT (resource_id = ANY($3))`,
		p.Tenant, p.ID, pq.StringArray(p.ApplicableResources)); err != nil {
		return postgres.Classify(err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO rbac_permission_resources (tenant, permission_id, resource_id, position)
		SELECT $1, $2, r, n FROM unnest($3::text[]) WITH ORDINALITY AS u(r, n)
		ON CONFLICT (tenant, permission_id, resource_id) DO UPDATE SET position = EXCLUDED.position`, p.Tenant, p.ID, pq.StringArray(p.ApplicableResources))
	return postgres.Classify(err)
}

func (c permissions) Create(ctx context.Context, p *rbac.Permission) error {
	return c.s.write(ctx, p.Tenant, func(tx *sqlx.Tx) error { return c.save(ctx, tx, p, true) })
}

func (c permissions) Update(ctx context.Context, tenant, id string, change func(*rbac.Permission) error) (*rbac.Permission, error) {
	return update(ctx, c.s, tenant, func(tx *sqlx.Tx, lock bool) (*rbac.Permission, error) { return c.load(ctx, tx, tenant, id, lock) }, change,
		func(tx *sqlx.Tx, p *rbac.Permission) error {
			if err := c.save(ctx, tx, p, false); err != nil {
				return err
			}
			return c.s.refreshAccessControls(ctx, tx, tenant, `SELECT ac.id FROM rbac_access_controls ac
				JOIN rbac_role_permissions rp ON rp.tenant = ac.tenant AND rp.role_id = ac.role_id
				WHERE ac.tenant = $1 AND rp.permission_id = $2`, id)
		})
}

func (c permissions) Delete(ctx context.Context, tenant, id string) error {
	return c.s.deleteUnreferenced(ctx, "rbac_permissions", "permission", tenant, id,
		referrer{"roles", `SELECT role_id FROM rbac_role_permissions WHERE tenant = $1 AND permission_id = $2 ORDER BY 1`},
	)
}

func (c permissions) Get(ctx context.Context, tenant, id string) (*rbac.Permission, error) {
	return c.load(ctx, c.s.DB, tenant, id, false)
}

func (c permissions) List(ctx context.Context, tenant string, q rbac.Query) ([]rbac.Permission, int, error) {
	rows, err := selectEntries[permissionRow](ctx, c.s.DB, permissionColumns, "rbac_permissions", "", tenant, q)
	if err != nil || len(rows) == 0 {
		return []rbac.Permission{}, 0, err
	}
	out, err := permissionsOf(ctx, c.s.DB, rows)
	return out, rows[0].Total, err
}
