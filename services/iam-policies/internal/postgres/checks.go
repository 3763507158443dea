package postgres

import (
	"context"

	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/policies"
)

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
