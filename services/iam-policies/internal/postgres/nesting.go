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

// The statements below start from the ids they are given and reach every row through
// an index, one id at a time (a LATERAL subquery with OFFSET 0 or LIMIT, which the
// planner cannot flatten into a join): during a bulk load into a fresh tenant the
// statistics still describe near-empty tables, and a planner that believes them scans
// the tenant's whole membership or subject view, a cost that grows with the tenant
// rather than with the batch.

// settleGroups gives each of groups its own row if it is known, and removes every row that
// names it if not (no membership names an unknown group, so nothing can lead through it).
// The caller holds the tenant's nesting lock.
func settleGroups(ctx context.Context, tx *sqlx.Tx, tenant string, groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		WITH g AS (SELECT DISTINCT unnest($2::text[]) AS id),
		known AS (SELECT g.id FROM g, LATERAL (
			SELECT 1 FROM subject_view s WHERE s.tenant = $1 AND s.subject = 'group-' || g.id
			UNION ALL SELECT 1 FROM membership_view m WHERE m.tenant = $1 AND m.group_id = g.id
			UNION ALL SELECT 1 FROM membership_view m WHERE m.tenant = $1 AND m.member = 'group-' || g.id
			LIMIT 1) k),
		unknown AS (SELECT array_agg(id) AS ids FROM g WHERE id NOT IN (SELECT id FROM known)),
		gone AS (DELETE FROM group_closure c USING unknown WHERE c.tenant = $1
			AND (c.ancestor = ANY(unknown.ids) OR c.descendant = ANY(unknown.ids)))
		INSERT INTO group_closure (tenant, ancestor, descendant, paths)
		SELECT $1, id, id, 1 FROM known ON CONFLICT DO NOTHING`, tenant, pq.StringArray(groups))
	return postgres.Classify(err)
}

// addGroups gives groups known for certain (a membership names them) their own rows.
func addGroups(ctx context.Context, tx *sqlx.Tx, tenant string, groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO group_closure (tenant, ancestor, descendant, paths)
		SELECT $1, g, g, 1 FROM unnest($2::text[]) AS g ON CONFLICT DO NOTHING`, tenant, pq.StringArray(groups))
	return postgres.Classify(err)
}

// rederive brings the closure in line with the membership and subject sets after a batch
// of changes: joined names the groups that gained a member (known for certain), settle
// the other groups whose own rows may have to appear or go (those named by changed
// subjects and removed memberships), children the groups that joined or left another
// group. It recomputes the ancestors of every group below a child, before or after the
// change: exactly the rows a change of an edge into a child can affect. Those are found
// before anything is settled, from the closure as it was (a group the batch made unknown
// still shows what was below it) and from the memberships as they are now. UNION (not
// UNION ALL) makes the walks end even if reordered events briefly form a cycle in the
// view. The caller holds the tenant's nesting lock.
func rederive(ctx context.Context, tx *sqlx.Tx, tenant string, joined, settle, children []string) error {
	var below []string
	if len(children) > 0 {
		if err := tx.SelectContext(ctx, &below, `
			WITH RECURSIVE down(id) AS (
				SELECT unnest($2::text[])
				UNION
				SELECT x.id FROM down, LATERAL (SELECT substr(m.member, 7) AS id FROM membership_view m
					WHERE m.tenant = $1 AND m.group_id = down.id AND m.member LIKE 'group-%' OFFSET 0) x)
			SELECT id FROM down
			UNION
			SELECT x.descendant FROM unnest($2::text[]) AS c(id), LATERAL (
				SELECT descendant FROM group_closure WHERE tenant = $1 AND ancestor = c.id OFFSET 0) x`,
			tenant, pq.StringArray(children)); err != nil {
			return postgres.Classify(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM group_closure WHERE tenant = $1 AND descendant = ANY($2) AND ancestor <> descendant`,
			tenant, pq.StringArray(below)); err != nil {
			return postgres.Classify(err)
		}
	}
	if err := addGroups(ctx, tx, tenant, joined); err != nil {
		return err
	}
	if err := settleGroups(ctx, tx, tenant, append(slices.Clone(settle), below...)); err != nil {
		return err
	}
	if len(below) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		WITH RECURSIVE up(descendant, ancestor) AS (
			SELECT d, d FROM unnest($2::text[]) AS d
				WHERE EXISTS (SELECT 1 FROM group_closure WHERE tenant = $1 AND ancestor = d AND descendant = d)
			UNION
			SELECT up.descendant, x.group_id FROM up, LATERAL (SELECT m.group_id FROM membership_view m
				WHERE m.tenant = $1 AND m.member = 'group-' || up.ancestor OFFSET 0) x)
		INSERT INTO group_closure (tenant, ancestor, descendant, paths)
		SELECT $1, ancestor, descendant, 1 FROM up ON CONFLICT DO NOTHING`, tenant, pq.StringArray(below))
	return postgres.Classify(err)
}
