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

// ---- resources

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

// ---- permissions

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

// ---- roles

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

// ---- access controls

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
		if err == nil {
			a.Scopes = stored.Scopes
		}
		return err
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

// ---- templates

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
	return c.s.write(ctx, t.Tenant, func(tx *sqlx.Tx) error { return c.save(ctx, tx, t, true) })
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
