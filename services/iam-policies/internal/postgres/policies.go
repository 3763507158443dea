package postgres

import (
	"context"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

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
