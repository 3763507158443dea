package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

type accessControls struct{ s *RBAC }

type accessControlRow struct {
	entryRow
	RoleID     string         `db:"role_id"`
	ResourceID string         `db:"resource_id"`
	Scopes     pq.StringArray `db:"scopes"`
}

const accessControlColumns = entryColumns + `, x.role_id, x.resource_id,
	ARRAY(SELECT DISTINCT s.scope FROM rbac_access_control_scopes s WHERE s.tenant = x.tenant AND s.access_control_id = x.id ORDER BY s.scope) AS scopes`

func (r accessControlRow) accessControl() rbac.AccessControl {
	scopes := []string(r.Scopes)
	if scopes == nil {
		scopes = []string{}
	}
	return rbac.AccessControl{Entry: r.entry(), RoleID: r.RoleID, ResourceID: r.ResourceID, Scopes: scopes}
}

func (c accessControls) load(ctx context.Context, q sqlx.QueryerContext, tenant, id string, lock bool) (*rbac.AccessControl, error) {
	row, err := getEntry[accessControlRow](ctx, q, accessControlColumns, "rbac_access_controls", "access control", tenant, id, lock)
	if err != nil {
		return nil, err
	}
	a := row.accessControl()
	return &a, nil
}

func (c accessControls) save(ctx context.Context, tx *sqlx.Tx, a *rbac.AccessControl, isNew bool) error {
	roles, err := existing(ctx, tx, "rbac_roles", a.Tenant, []string{a.RoleID})
	if err != nil {
		return err
	}
	resources, err := existing(ctx, tx, "rbac_resources", a.Tenant, []string{a.ResourceID})
	if err != nil {
		return err
	}
	if err := a.CheckReferences(roles[a.RoleID], resources[a.ResourceID]); err != nil {
		return err
	}
	if isNew {
		_, err = tx.ExecContext(ctx, `INSERT INTO rbac_access_controls (tenant, id, role_id, resource_id, name, description, version, created_at, modified_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, a.Tenant, a.ID, a.RoleID, a.ResourceID, textMap(a.Name), textMap(a.Description), a.Version, a.CreatedAt, a.ModifiedAt)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE rbac_access_controls SET role_id = $3, resource_id = $4, name = $5, description = $6, version = $7, modified_at = $8
			WHERE tenant = $1 AND id = $2`, a.Tenant, a.ID, a.RoleID, a.ResourceID, textMap(a.Name), textMap(a.Description), a.Version, a.ModifiedAt)
	}
	return postgres.Classify(err)
}

func (c accessControls) Create(ctx context.Context, a *rbac.AccessControl) error {
	return c.s.write(ctx, a.Tenant, func(tx *sqlx.Tx) error {
		if err := c.save(ctx, tx, a, true); err != nil {
			return err
		}
		stored, err := c.load(ctx, tx, a.Tenant, a.ID, false)
		if err != nil {
			return err
		}
		a.Scopes = stored.Scopes
		return c.s.assignNamingGroups(ctx, tx, a.Tenant, "access_control_id", a.ID)
	})
}

func (c accessControls) Update(ctx context.Context, tenant, id string, change func(*rbac.AccessControl) error) (*rbac.AccessControl, error) {
	return update(ctx, c.s, tenant, func(tx *sqlx.Tx, lock bool) (*rbac.AccessControl, error) { return c.load(ctx, tx, tenant, id, lock) }, change,
		func(tx *sqlx.Tx, a *rbac.AccessControl) error {
			if err := c.save(ctx, tx, a, false); err != nil {
				return err
			}
			return c.s.refreshAccessControls(ctx, tx, tenant, `SELECT $2::text AS id`, id)
		})
}

func (c accessControls) Delete(ctx context.Context, tenant, id string) error {
	return c.s.deleteUnreferenced(ctx, "rbac_access_controls", "access control", tenant, id,
		referrer{"templates", `SELECT template_id FROM rbac_template_access_controls WHERE tenant = $1 AND access_control_id = $2 ORDER BY 1`},
		referrer{"assignments", `SELECT id FROM rbac_assignments WHERE tenant = $1 AND access_control_id = $2 ORDER BY 1`},
	)
}

func (c accessControls) Get(ctx context.Context, tenant, id string) (*rbac.AccessControl, error) {
	return c.load(ctx, c.s.DB, tenant, id, false)
}

func (c accessControls) List(ctx context.Context, tenant string, q rbac.Query) ([]rbac.AccessControl, int, error) {
	rows, err := selectEntries[accessControlRow](ctx, c.s.DB, accessControlColumns, "rbac_access_controls",
		`AND ($7 = '' OR x.role_id = $7) AND ($8 = '' OR x.resource_id = $8)`, tenant, q, q.RoleID, q.ResourceID)
	if err != nil {
		return nil, 0, err
	}
	out, total := make([]rbac.AccessControl, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.accessControl(), r.Total
	}
	return out, total, nil
}
