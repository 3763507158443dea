package postgres

import (
	"context"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/closure"
	"github.com/iamplane/iam/pkg/postgres"
)

// nesting is this service's closure of group nesting. It is derived from the membership
// set (membership_view) and the subject set (subject_view), never patched by deltas:
// events reach a view in any order (a group's tombstone before its memberships'
// tombstones, a redelivery behind newer events), and a closure kept by deltas that assume
// an order keeps rows the source no longer has. Every change re-derives the rows it can
// affect, so the same sets give the same closure however they were reached.
//
// The rule: a group is known while the subject view holds it or any membership names it
// (as group or as member); a known group has its own row (g, g); a ⊇ d whenever a chain
// of group memberships leads from d up to a. Path counts are not kept (paths = 1).
const nesting = closure.Table("group_closure")

// settleGroups gives each of groups its own row if it is known, and removes every row that
// names it if not (no membership names an unknown group, so nothing can lead through it).
// The caller holds the tenant's nesting lock.
func settleGroups(ctx context.Context, tx *sqlx.Tx, tenant string, groups []string) error {
	_, err := tx.ExecContext(ctx, `
		WITH g AS (SELECT DISTINCT unnest($2::text[]) AS id),
		known AS (SELECT id FROM g WHERE
			EXISTS (SELECT 1 FROM subject_view s WHERE s.tenant = $1 AND s.subject = 'group-' || g.id)
			OR EXISTS (SELECT 1 FROM membership_view m WHERE m.tenant = $1 AND m.group_id = g.id)
			OR EXISTS (SELECT 1 FROM membership_view m WHERE m.tenant = $1 AND m.member = 'group-' || g.id)),
		gone AS (DELETE FROM group_closure c USING g WHERE c.tenant = $1
			AND (c.ancestor = g.id OR c.descendant = g.id) AND g.id NOT IN (SELECT id FROM known))
		INSERT INTO group_closure (tenant, ancestor, descendant, paths)
		SELECT $1, id, id, 1 FROM known ON CONFLICT DO NOTHING`, tenant, pq.StringArray(groups))
	return postgres.Classify(err)
}

// rederive brings the closure in line with the membership and subject sets after a batch
// of changes: settle names the groups whose own rows may have to appear or go (those
// named by changed subjects and memberships), children the groups that joined or left
// another group. It recomputes the ancestors of every group below a child, before or
// after the change: exactly the rows a change of an edge into a child can affect. Those
// are found before anything is settled, from the closure as it was (a group the batch
// made unknown still shows what was below it) and from the memberships as they are now.
// UNION (not UNION ALL) makes the walk end even if reordered events briefly form a cycle
// in the view. The caller holds the tenant's nesting lock.
func rederive(ctx context.Context, tx *sqlx.Tx, tenant string, settle, children []string) error {
	var below []string
	if len(children) > 0 {
		if err := tx.SelectContext(ctx, &below, `
			WITH RECURSIVE down(id) AS (
				SELECT unnest($2::text[])
				UNION
				SELECT substr(m.member, 7) FROM down JOIN membership_view m
					ON m.tenant = $1 AND m.group_id = down.id AND m.member LIKE 'group-%')
			SELECT id FROM down
			UNION
			SELECT descendant FROM group_closure WHERE tenant = $1 AND ancestor = ANY($2)`, tenant, pq.StringArray(children)); err != nil {
			return postgres.Classify(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM group_closure WHERE tenant = $1 AND descendant = ANY($2) AND ancestor <> descendant`,
			tenant, pq.StringArray(below)); err != nil {
			return postgres.Classify(err)
		}
	}
	if err := settleGroups(ctx, tx, tenant, append(slices.Clone(settle), below...)); err != nil {
		return err
	}
	if len(below) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		WITH RECURSIVE up(descendant, ancestor) AS (
			SELECT descendant, ancestor FROM group_closure
				WHERE tenant = $1 AND descendant = ANY($2) AND ancestor = descendant
			UNION
			SELECT up.descendant, m.group_id FROM up JOIN membership_view m
				ON m.tenant = $1 AND m.member = 'group-' || up.ancestor)
		INSERT INTO group_closure (tenant, ancestor, descendant, paths)
		SELECT $1, ancestor, descendant, 1 FROM up ON CONFLICT DO NOTHING`, tenant, pq.StringArray(below))
	return postgres.Classify(err)
}
