// Package closure keeps the transitive closure of group nesting incrementally, in a table
// of (tenant, ancestor, descendant, paths). iam-subjects, the source of memberships,
// keeps its closure with it: its changes are serialized per tenant (Lock), so deltas in
// order are safe. Paths counts the distinct paths between two groups, so removing one
// side of a diamond keeps the pairs the other side still connects. Every group has its
// (g, g, 1) row. (iam-policies' view cannot rely on order, as events arrive in any: it
// derives its closure from its membership set instead and uses only Lock from here.)
package closure

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/postgres"
)

// Table is a closure table with the columns tenant, ancestor, descendant and paths and
// the primary key (tenant, ancestor, descendant).
type Table string

// Lock serializes nesting changes of a tenant within the caller's transaction, so two
// concurrent changes cannot together build a cycle that neither would alone.
func (t Table) Lock(ctx context.Context, tx *sqlx.Tx, tenant string) error {
	return postgres.LockTenant(ctx, tx, string(t), tenant)
}

// AddGroup gives a group its own row; adding it again is harmless.
func (t Table) AddGroup(ctx context.Context, tx *sqlx.Tx, tenant, group string) error {
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (tenant, ancestor, descendant, paths) VALUES ($1, $2, $2, 1)
		ON CONFLICT DO NOTHING`, t), tenant, group)
	return postgres.Classify(err)
}

// Contains reports which of candidates contain group (itself included): adding any of
// them into group would make a cycle.
func (t Table) Contains(ctx context.Context, tx *sqlx.Tx, tenant, group string, candidates []string) ([]string, error) {
	var found []string
	err := tx.SelectContext(ctx, &found, fmt.Sprintf(`SELECT ancestor FROM %s
		WHERE tenant = $1 AND descendant = $2 AND ancestor = ANY($3)`, t), tenant, group, pq.StringArray(candidates))
	return found, postgres.Classify(err)
}

// Nest adds (sign 1) or removes (sign -1) the edge parent ⊇ child: every ancestor of
// parent gains (or loses) as many paths to every descendant of child as the product of
// the path counts on either side. The caller holds Lock.
func (t Table) Nest(ctx context.Context, tx *sqlx.Tx, tenant, parent, child string, sign int) error {
	delta := fmt.Sprintf(`SELECT a.ancestor, d.descendant, sum(a.paths * d.paths) AS paths
		FROM %[1]s a JOIN %[1]s d ON d.tenant = $1 AND d.ancestor = $3
		WHERE a.tenant = $1 AND a.descendant = $2 GROUP BY a.ancestor, d.descendant`, t)
	if sign > 0 {
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %[1]s (tenant, ancestor, descendant, paths)
			SELECT $1, ancestor, descendant, paths FROM (%[2]s) AS delta
			ON CONFLICT (tenant, ancestor, descendant) DO UPDATE SET paths = %[1]s.paths + EXCLUDED.paths`, t, delta),
			tenant, parent, child)
		return postgres.Classify(err)
	}
	var gone []struct {
		Ancestor   string `db:"ancestor"`
		Descendant string `db:"descendant"`
	}
	if err := tx.SelectContext(ctx, &gone, fmt.Sprintf(`WITH delta AS (%[2]s),
		updated AS (UPDATE %[1]s c SET paths = c.paths - delta.paths FROM delta
			WHERE c.tenant = $1 AND c.ancestor = delta.ancestor AND c.descendant = delta.descendant
			RETURNING c.ancestor, c.descendant, c.paths)
		SELECT ancestor, descendant FROM updated WHERE paths <= 0`, t, delta), tenant, parent, child); err != nil {
		return postgres.Classify(err)
	}
	if len(gone) == 0 {
		return nil
	}
	as, ds := make([]string, len(gone)), make([]string, len(gone))
	for i, g := range gone {
		as[i], ds[i] = g.Ancestor, g.Descendant
	}
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE tenant = $1
		AND (ancestor, descendant) IN (SELECT * FROM unnest($2::text[], $3::text[]))`, t), tenant, pq.StringArray(as), pq.StringArray(ds))
	return postgres.Classify(err)
}

// RemoveGroup drops a group's own row once it has no edges left.
func (t Table) RemoveGroup(ctx context.Context, tx *sqlx.Tx, tenant, group string) error {
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE tenant = $1 AND ancestor = $2 AND descendant = $2`, t), tenant, group)
	return postgres.Classify(err)
}
