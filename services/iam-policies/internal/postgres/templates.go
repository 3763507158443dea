package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

type templates struct{ s *RBAC }

type templateRow struct {
	entryRow
	AccessControls pq.StringArray `db:"access_controls"`
}

const templateColumns = entryColumns + `, ARRAY(SELECT t.access_control_id FROM rbac_template_access_controls t
	WHERE t.tenant = x.tenant AND t.template_id = x.id ORDER BY t.position) AS access_controls`

func (r templateRow) template() rbac.Template {
	ids := []string(r.AccessControls)
	if ids == nil {
		ids = []string{}
	}
	return rbac.Template{Entry: r.entry(), AccessControls: ids}
}

func (c templates) load(ctx context.Context, q sqlx.QueryerContext, tenant, id string, lock bool) (*rbac.Template, error) {
	row, err := getEntry[templateRow](ctx, q, templateColumns, "rbac_templates", "template", tenant, id, lock)
	if err != nil {
		return nil, err
	}
	t := row.template()
	return &t, nil
}

func (c templates) save(ctx context.Context, tx *sqlx.Tx, t *rbac.Template, isNew bool) error {
	found, err := existing(ctx, tx, "rbac_access_controls", t.Tenant, t.AccessControls)
	if err != nil {
		return err
	}
	if err := t.CheckReferences(found); err != nil {
		return err
	}
	if isNew {
		_, err = tx.ExecContext(ctx, `INSERT INTO rbac_templates (tenant, id, name, description, version, created_at, modified_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.Tenant, t.ID, textMap(t.Name), textMap(t.Description), t.Version, t.CreatedAt, t.ModifiedAt)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE rbac_templates SET name = $3, description = $4, version = $5, modified_at = $6
			WHERE tenant = $1 AND id = $2`, t.Tenant, t.ID, textMap(t.Name), textMap(t.Description), t.Version, t.ModifiedAt)
	}
	if err != nil {
		return postgres.Classify(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM rbac_template_access_controls WHERE tenant = $1 AND template_id = $2`, t.Tenant, t.ID); err != nil {
		return postgres.Classify(err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO rbac_template_access_controls (tenant, template_id, access_control_id, position)
		SELECT $1, $2, a, n FROM unnest($3::text[]) WITH ORDINALITY AS u(a, n)`, t.Tenant, t.ID, pq.StringArray(t.AccessControls))
	return postgres.Classify(err)
}

func (c templates) Create(ctx context.Context, t *rbac.Template) error {
	return c.s.write(ctx, t.Tenant, func(tx *sqlx.Tx) error {
		if err := c.save(ctx, tx, t, true); err != nil {
			return err
		}
		return c.s.assignNamingGroups(ctx, tx, t.Tenant, "template_id", t.ID)
	})
}

func (c templates) Update(ctx context.Context, tenant, id string, change func(*rbac.Template) error) (*rbac.Template, error) {
	return update(ctx, c.s, tenant, func(tx *sqlx.Tx, lock bool) (*rbac.Template, error) { return c.load(ctx, tx, tenant, id, lock) }, change,
		func(tx *sqlx.Tx, t *rbac.Template) error {
			if err := c.save(ctx, tx, t, false); err != nil {
				return err
			}
			return c.s.refreshTemplate(ctx, tx, tenant, id)
		})
}

func (c templates) Delete(ctx context.Context, tenant, id string) error {
	return c.s.deleteUnreferenced(ctx, "rbac_templates", "template", tenant, id,
		referrer{"assignments", `SELECT id FROM rbac_assignments WHERE tenant = $1 AND template_id = $2 ORDER BY 1`},
	)
}

func (c templates) Get(ctx context.Context, tenant, id string) (*rbac.Template, error) {
	return c.load(ctx, c.s.DB, tenant, id, false)
}

func (c templates) List(ctx context.Context, tenant string, q rbac.Query) ([]rbac.Template, int, error) {
	rows, err := selectEntries[templateRow](ctx, c.s.DB, templateColumns, "rbac_templates", "", tenant, q)
	if err != nil {
		return nil, 0, err
	}
	out, total := make([]rbac.Template, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.template(), r.Total
	}
	return out, total, nil
}

func (s *RBAC) refreshTemplate(ctx context.Context, tx *sqlx.Tx, tenant, templateID string) error {
	var subjects []string
	if err := tx.SelectContext(ctx, &subjects, `SELECT DISTINCT subject FROM rbac_assignments WHERE tenant = $1 AND template_id = $2`,
		tenant, templateID); err != nil {
		return postgres.Classify(err)
	}
	return s.Scopes.Refresh(ctx, tx, tenant, subjects)
}
