package postgres

import (
	"context"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/policies"
)

// Policies stores policies and reads the subject views.
type Policies struct {
	DB *sqlx.DB
	// Scopes republishes the entitled scope sets a change may affect, in its transaction.
	Scopes *ScopeSets
}

var _ policies.Store = (*Policies)(nil)

type policyRow struct {
	Tenant           string `db:"tenant"`
	ID               string `db:"id"`
	Subject          string `db:"subject"`
	Scope            string `db:"scope"`
	Action           string `db:"action"`
	ResourceType     string `db:"resource_type"`
	ResourceProvider string `db:"resource_provider"`
	GrantedTo        string `db:"granted_to"`
	Total            int    `db:"total"`
}

func (r policyRow) policy() policies.Policy {
	return policies.Policy{Tenant: r.Tenant, ID: r.ID, Subject: r.Subject, Scope: r.Scope, Action: r.Action,
		ResourceType: r.ResourceType, ResourceProvider: r.ResourceProvider, GrantedTo: r.GrantedTo}
}

const policyColumns = `p.tenant, p.id, p.subject, p.scope, p.action, p.resource_type, p.resource_provider`

// principals is the subject $2 and every group it is in, through nesting.
const principals = `SELECT $2::text AS subject
	UNION SELECT 'group-' || c.ancestor FROM membership_view m
	JOIN group_closure c ON c.tenant = m.tenant AND c.descendant = m.group_id
	WHERE m.tenant = $1 AND m.member = $2`

// Grant inserts a policy unless the same (subject, scope, action) exists, in which case p
// becomes the existing one.
func (s *Policies) Grant(ctx context.Context, p *policies.Policy) (bool, error) {
	var created bool
	err := postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		var id string
		err := tx.GetContext(ctx, &id, `INSERT INTO policies (tenant, id, subject, scope, action, resource_type, resource_provider)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant, subject, scope, action) DO NOTHING RETURNING id`,
			p.Tenant, p.ID, p.Subject, p.Scope, p.Action, p.ResourceType, p.ResourceProvider)
		if errs.Is(postgres.Classify(err), errs.NotFound) {
			created = false
			return tx.GetContext(ctx, &p.ID, `SELECT id FROM policies WHERE tenant = $1 AND subject = $2 AND scope = $3 AND action = $4`,
				p.Tenant, p.Subject, p.Scope, p.Action)
		}
		if err != nil {
			return postgres.Classify(err)
		}
		created = true
		if err := notifyGrants(ctx, tx, p.Tenant, []grantKey{{p.Scope, p.Action}}); err != nil {
			return err
		}
		if p.Scope == "/" {
			return s.Scopes.Refresh(ctx, tx, p.Tenant, []string{p.Subject})
		}
		return nil
	})
	return created, err
}

// Revoke deletes the policies matching the filter.
func (s *Policies) Revoke(ctx context.Context, tenant string, f policies.Filter) (int, error) {
	var n int
	err := postgres.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		var refs []string
		if err := tx.SelectContext(ctx, &refs, `SELECT DISTINCT r.scope || ' (policy ' || r.policy_id || ')' FROM policies p
			JOIN scope_policy_refs r ON r.tenant = p.tenant AND r.policy_id = p.id::text
			WHERE p.tenant = $1 AND p.subject = $2 AND ($3 = '' OR p.scope = $3) AND ($4 = '' OR p.action = $4)
			ORDER BY 1`, tenant, f.Subject, f.Scope, f.Action); err != nil {
			return postgres.Classify(err)
		}
		if len(refs) > 0 {
			return errs.E(errs.Conflict, "scope definitions reference these policies; change them first: %s", strings.Join(refs, ", "))
		}
		var keys []grantKey
		if err := tx.SelectContext(ctx, &keys, `DELETE FROM policies WHERE tenant = $1 AND subject = $2
			AND ($3 = '' OR scope = $3) AND ($4 = '' OR action = $4) RETURNING scope, action`, tenant, f.Subject, f.Scope, f.Action); err != nil {
			return postgres.Classify(err)
		}
		n = len(keys)
		if err := notifyGrants(ctx, tx, tenant, keys); err != nil {
			return err
		}
		if slices.ContainsFunc(keys, func(k grantKey) bool { return k.Scope == "/" }) {
			return s.Scopes.Refresh(ctx, tx, tenant, []string{f.Subject})
		}
		return nil
	})
	return n, err
}

// List pages through policies.
func (s *Policies) List(ctx context.Context, tenant string, f policies.Filter) ([]policies.Policy, int, error) {
	var rows []policyRow
	if err := s.DB.SelectContext(ctx, &rows, `SELECT `+policyColumns+`, '' AS granted_to, count(*) OVER () AS total FROM policies p
		WHERE p.tenant = $1 AND ($2 = '' OR p.subject = $2) AND ($3 = '' OR p.scope = $3) AND ($4 = '' OR p.action = $4)
		  AND ($5 = '' OR p.resource_type = $5) AND ($6 = '' OR p.resource_provider = $6)
		ORDER BY p.subject, p.scope, p.action LIMIT $7 OFFSET $8`,
		tenant, f.Subject, f.Scope, f.Action, f.ResourceType, f.ResourceProvider, f.Limit, f.Offset); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]policies.Policy, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.policy(), r.Total
	}
	return out, total, nil
}

// Effective lists the policies of subject and its groups.
func (s *Policies) Effective(ctx context.Context, tenant, subject string, f policies.Filter) ([]policies.Policy, error) {
	var rows []policyRow
	if err := s.DB.SelectContext(ctx, &rows, `WITH principals AS (`+principals+`)
		SELECT `+policyColumns+`, p.subject AS granted_to, 0 AS total FROM policies p
		WHERE p.tenant = $1 AND p.subject IN (SELECT subject FROM principals)
		  AND ($3 = '' OR p.action = $3) AND ($4 = '' OR p.resource_type = $4) AND ($5 = '' OR p.resource_provider = $5)
		ORDER BY p.scope, p.action, p.subject LIMIT 1000`, tenant, subject, f.Action, f.ResourceType, f.ResourceProvider); err != nil {
		return nil, postgres.Classify(err)
	}
	out := make([]policies.Policy, len(rows))
	for i, r := range rows {
		out[i] = r.policy()
	}
	return out, nil
}

// Check finds the most specific policy allowing the action.
func (s *Policies) Check(ctx context.Context, tenant, subject, action string, paths []string) (*policies.Policy, error) {
	var rows []policyRow
	if err := s.DB.SelectContext(ctx, &rows, `WITH principals AS (`+principals+`)
		SELECT `+policyColumns+`, p.subject AS granted_to, 0 AS total FROM policies p
		WHERE p.tenant = $1 AND p.action = $3 AND p.scope = ANY($4) AND p.subject IN (SELECT subject FROM principals)
		ORDER BY length(p.scope) DESC, p.subject = $2 DESC LIMIT 1`, tenant, subject, action, pq.StringArray(paths)); err != nil {
		return nil, postgres.Classify(err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	p := rows[0].policy()
	return &p, nil
}

// TenantRoles reads a subject's tenant roles.
func (s *Policies) TenantRoles(ctx context.Context, tenant, subject string) ([]string, error) {
	var roles pq.StringArray
	err := s.DB.GetContext(ctx, &roles, `SELECT roles FROM tenant_roles WHERE tenant = $1 AND subject = $2`, tenant, subject)
	if errs.Is(postgres.Classify(err), errs.NotFound) {
		return []string{}, nil
	}
	return roles, postgres.Classify(err)
}

// SetTenantRoles replaces a subject's tenant roles.
func (s *Policies) SetTenantRoles(ctx context.Context, tenant, subject string, roles []string) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO tenant_roles (tenant, subject, roles) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, subject) DO UPDATE SET roles = EXCLUDED.roles`, tenant, subject, pq.StringArray(roles))
	return postgres.Classify(err)
}

// EntitledScopes are the actions granted to subject or its groups on the tenant root,
// and the scopes of the access controls assigned to them (see RBAC).
func (s *Policies) EntitledScopes(ctx context.Context, tenant, subject string) ([]string, error) {
	return entitled(ctx, s.DB, tenant, subject)
}

func entitled(ctx context.Context, q sqlx.QueryerContext, tenant, subject string) ([]string, error) {
	var scopes []string
	err := sqlx.SelectContext(ctx, q, &scopes, `WITH principals AS (`+principals+`), acs AS (`+effectiveAccessControls+`)
		SELECT p.action FROM policies p
		WHERE p.tenant = $1 AND p.scope = '/' AND p.subject IN (SELECT subject FROM principals)
		UNION
		SELECT s.scope FROM rbac_access_control_scopes s WHERE s.tenant = $1 AND s.access_control_id IN (SELECT id FROM acs)
		ORDER BY 1`, tenant, subject)
	if scopes == nil {
		scopes = []string{}
	}
	return scopes, postgres.Classify(err)
}

// WhoMay lists every subject allowed action on one of paths: the subjects of the matching
// policies, and for a group every user, client and group inside it through the closure.
// Each subject appears once, with the most specific policy that allows it.
func (s *Policies) WhoMay(ctx context.Context, tenant, action string, paths []string, offset, limit int) ([]policies.Policy, int, error) {
	var rows []policyRow
	if err := s.DB.SelectContext(ctx, &rows, `
		WITH grants AS (
			SELECT p.subject, p.scope FROM policies p WHERE p.tenant = $1 AND p.action = $2 AND p.scope = ANY($3)
		), allowed AS (
			SELECT g.subject AS subject, g.subject AS granted_to, g.scope FROM grants g
			UNION ALL
			SELECT m.member, g.subject, g.scope FROM grants g
			JOIN group_closure c ON c.tenant = $1 AND c.ancestor = substr(g.subject, 7)
			JOIN membership_view m ON m.tenant = $1 AND m.group_id = c.descendant
			WHERE g.subject LIKE 'group-%'
		), best AS (
			SELECT DISTINCT ON (subject) subject, granted_to, scope FROM allowed ORDER BY subject, length(scope) DESC, granted_to
		)
		SELECT $1 AS tenant, '' AS id, subject, scope, $2 AS action, '' AS resource_type, '' AS resource_provider, granted_to,
			count(*) OVER () AS total
		FROM best ORDER BY subject LIMIT $4 OFFSET $5`, tenant, action, pq.StringArray(paths), limit, offset); err != nil {
		return nil, 0, postgres.Classify(err)
	}
	out, total := make([]policies.Policy, len(rows)), 0
	for i, r := range rows {
		out[i], total = r.policy(), r.Total
	}
	return out, total, nil
}

// WhereMay lists the policies of subject and its groups for action, by path.
func (s *Policies) WhereMay(ctx context.Context, tenant, subject, action string) ([]policies.Policy, error) {
	return s.Effective(ctx, tenant, subject, policies.Filter{Action: action})
}
