package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

type roles struct{ s *RBAC }

type roleRow struct{ entryRow }

// rolesOf turns rows into roles with their permissions and narrowings.
func rolesOf(ctx context.Context, q sqlx.QueryerContext, rows []roleRow) ([]rbac.Role, error) {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var links []struct {
		RoleID       string         `db:"role_id"`
		PermissionID string         `db:"permission_id"`
		Resources    pq.StringArray `db:"resources"`
	}
	if len(rows) > 0 {
		if err := sqlx.SelectContext(ctx, q, &links, `SELECT rp.role_id, rp.permission_id,
				ARRAY(SELECT x.resource_id FROM rbac_role_permission_resources x
					WHERE x.tenant = rp.tenant AND x.role_id = rp.role_id AND x.permission_id = rp.permission_id ORDER BY x.position) AS resources
			FROM rbac_role_permissions rp WHERE rp.tenant = $1 AND rp.role_id = ANY($2) ORDER BY rp.role_id, rp.position`,
			rows[0].Tenant, pq.StringArray(ids)); err != nil {
			return nil, postgres.Classify(err)
		}
	}
	byRole := map[string][]rbac.RolePermission{}
	for _, l := range links {
		byRole[l.RoleID] = append(byRole[l.RoleID], rbac.RolePermission{ID: l.PermissionID, Resources: l.Resources})
	}
	out := make([]rbac.Role, len(rows))
	for i, r := range rows {
		out[i] = rbac.Role{Entry: r.entry(), Permissions: byRole[r.ID]}
		if out[i].Permissions == nil {
			out[i].Permissions = []rbac.RolePermission{}
		}
	}
	return out, nil
}

func (c roles) load(ctx context.Context, q sqlx.QueryerContext, tenant, id string, lock bool) (*rbac.Role, error) {
	row, err := getEntry[roleRow](ctx, q, entryColumns, "rbac_roles", "role", tenant, id, lock)
	if err != nil {
		return nil, err
	}
	rs, err := rolesOf(ctx, q, []roleRow{*row})
	if err != nil {
		return nil, err
	}
	return &rs[0], nil
}

func (c roles) save(ctx context.Context, tx *sqlx.Tx, r *rbac.Role, isNew bool) error {
	ids := make([]string, len(r.Permissions))
	for i, p := range r.Permissions {
		ids[i] = p.ID
	}
	found, err := existing(ctx, tx, "rbac_permissions", r.Tenant, ids)
	if err != nil {
		return err
	}
	var links []struct {
		PermissionID string `db:"permission_id"`
		ResourceID   string `db:"resource_id"`
	}
	if err := tx.SelectContext(ctx, &links, `SELECT permission_id, resource_id FROM rbac_permission_resources
		WHERE tenant = $1 AND permission_id = ANY($2)`, r.Tenant, pq.StringArray(ids)); err != nil {
		return postgres.Classify(err)
	}
	applicable := map[string][]string{}
	for id := range found {
		applicable[id] = nil
	}
	for _, l := range links {
		applicable[l.PermissionID] = append(applicable[l.PermissionID], l.ResourceID)
	}
	if err := r.CheckReferences(applicable); err != nil {
		return err
	}
	if isNew {
		_, err = tx.ExecContext(ctx, `INSERT INTO rbac_roles (tenant, id, name, description, version, created_at, modified_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.Tenant, r.ID, textMap(r.Name), textMap(r.Description), r.Version, r.CreatedAt, r.ModifiedAt)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE rbac_roles SET name = $3, description = $4, version = $5, modified_at = $6
			WHERE tenant = $1 AND id = $2`, r.Tenant, r.ID, textMap(r.Name), textMap(r.Description), r.Version, r.ModifiedAt)
	}
	if err != nil {
		return postgres.Classify(err)
	}
	// Nothing outside the role points at its permission rows, so they are replaced whole.
	if _, err := tx.ExecContext(ctx, `DELETE FROM rbac_role_permissions WHERE tenant = $1 AND role_id = $2`, r.Tenant, r.ID); err != nil {
		return postgres.Classify(err)
	}
	for i, p := range r.Permissions {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rbac_role_permissions (tenant, role_id, permission_id, position) VALUES ($1, $2, $3, $4)`,
			r.Tenant, r.ID, p.ID, i); err != nil {
			return postgres.Classify(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO rbac_role_permission_resources (tenant, role_id, permission_id, resource_id, position)
			SELECT $1, $2, $3, r, n FROM unnest($4::text[]) WITH ORDINALITY AS u(r, n)`, r.Tenant, r.ID, p.ID, pq.StringArray(p.Resources)); err != nil {
			return postgres.Classify(err)
		}
	}
	return nil
}

func (c roles) Create(ctx context.Context, r *rbac.Role) error {
	return c.s.write(ctx, r.Tenant, func(tx *sqlx.Tx) error { return c.save(ctx, tx, r, true) })
}

func (c roles) Update(ctx context.Context, tenant, id string, change func(*rbac.Role) error) (*rbac.Role, error) {
	return update(ctx, c.s, tenant, func(tx *sqlx.Tx, lock bool) (*rbac.Role, error) { return c.load(ctx, tx, tenant, id, lock) }, change,
		func(tx *sqlx.Tx, r *rbac.Role) error {
			if err := c.save(ctx, tx, r, false); err != nil {
				return err
			}
			return c.s.refreshAccessControls(ctx, tx, tenant, `SELECT id FROM rbac_access_controls WHERE tenant = $1 AND role_id = $2`, id)
		})
}

func (c roles) Delete(ctx context.Context, tenant, id string) error {
	return c.s.deleteUnreferenced(ctx, "rbac_roles", "role", tenant, id,
		referrer{"access controls", `SELECT id FROM rbac_access_controls WHERE tenant = $1 AND role_id = $2 ORDER BY 1`},
	)
}

func (c roles) Get(ctx context.Context, tenant, id string) (*rbac.Role, error) {
	return c.load(ctx, c.s.DB, tenant, id, false)
}

func (c roles) List(ctx context.Context, tenant string, q rbac.Query) ([]rbac.Role, int, error) {
	rows, err := selectEntries[roleRow](ctx, c.s.DB, entryColumns, "rbac_roles", "", tenant, q)
	if err != nil || len(rows) == 0 {
		return []rbac.Role{}, 0, err
	}
	out, err := rolesOf(ctx, c.s.DB, rows)
	return out, rows[0].Total, err
}
