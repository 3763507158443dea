package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

type resources struct{ s *RBAC }

type resourceRow struct {
	entryRow
	Code string `db:"code"`
}

const resourceColumns = entryColumns + `, x.code`

func (r resourceRow) resource() rbac.Resource { return rbac.Resource{Entry: r.entry(), Code: r.Code} }

func (c resources) save(ctx context.Context, tx *sqlx.Tx, r *rbac.Resource, isNew bool) error {
	var err error
	if isNew {
		_, err = tx.ExecContext(ctx, `INSERT INTO rbac_resources (tenant, id, code, name, description, version, created_at, modified_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.Tenant, r.ID, r.Code, textMap(r.Name), textMap(r.Description), r.Version, r.CreatedAt, r.ModifiedAt)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE rbac_resources SET code = $3, name = $4, description = $5, version = $6, modified_at = $7
			WHERE tenant = $1 AND id = $2`, r.Tenant, r.ID, r.Code, textMap(r.Name), textMap(r.Description), r.Version, r.ModifiedAt)
	}
	if postgres.IsUniqueViolation(err, "rbac_resources_code") {
		return errs.E(errs.Conflict, "resource code %q is already used in this tenant", r.Code)
	}
	return postgres.Classify(err)
}

func (c resources) load(ctx context.Context, q sqlx.QueryerContext, tenant, id string, lock bool) (*rbac.Resource, error) {
	row, err := getEntry[resourceRow](ctx, q, resourceColumns, "rbac_resources", "resource", tenant, id, lock)
	if err != nil {
		return nil, err
	}
	r := row.resource()
	return &r, nil
}

func (c resources) Create(ctx context.Context, r *rbac.Resource) error {
	return c.s.write(ctx, r.Tenant, func(tx *sqlx.Tx) error { return c.save(ctx, tx, r, true) })
}

func (c resources) Update(ctx context.Context, tenant, id string, change func(*rbac.Resource) error) (*rbac.Resource, error) {
	return update(ctx, c.s, tenant, func(tx *sqlx.Tx, lock bool) (*rbac.Resource, error) { return c.load(ctx, tx, tenant, id, lock) }, change,
		func(tx *sqlx.Tx, r *rbac.Resource) error {
			if err := c.save(ctx, tx, r, false); err != nil {
				return err
			}
			return c.s.refreshAccessControls(ctx, tx, tenant, `SELECT id FROM rbac_access_controls WHERE tenant = $1 AND resource_id = $2`, id)
		})
}

func (c resources) Delete(ctx context.Context, tenant, id string) error {
	return c.s.deleteUnreferenced(ctx, "rbac_resources", "resource", tenant, id,
		referrer{"permissions", `SELECT DISTINCT permission_id FROM rbac_permission_resources WHERE tenant = $1 AND resource_id = $2 ORDER BY 1`},
		referrer{"access controls", `SELECT id FROM rbac_access_controls WHERE tenant = $1 AND resource_id = $2 ORDER BY 1`},
	)
}

func (c resources) Get(ctx context.Context, tenant, id string) (*rbac.Resource, error) {
	return c.load(ctx, c.s.DB, tenant, id, false)
}

func (c resources) List(ctx context.Context, tenant string, q rbac.Query) ([]rbac.Resource, int, error) {
	rows, err := selectEntries[resourceRow](ctx, c.s.DB, resourceColumns, "rbac_resources", "", tenant, q)
	if err != nil {
		return nil, 0, err
	}
	out, total := make([]rbac.Resource, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.resource(), r.Total
	}
	return out, total, nil
}
