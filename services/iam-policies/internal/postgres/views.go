package postgres

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/events"
)

// Views applies iam-subjects' and oauth-clients' events to this service's views.
type Views struct {
	Scopes *ScopeSets
}

var _ events.View = (*Views)(nil)

// ApplySubjects applies a batch's changes of tenant's subject and membership sets, then
// derives from the sets once for the batch: the closure rows the changes can affect, the
// check index keys they touched, and the entitled scope set of every subject whose
// memberships changed, each republished once if it differs. Every derivation reads the
// sets, never the order of the events, so a batch leaves the view as applying its events
// one at a time would.
func (v *Views) ApplySubjects(ctx context.Context, tx *sqlx.Tx, tenant string, c events.Changes) error {
	// A batch's statements walk indexes id by id; their estimated cost can pass the JIT
	// threshold, and compiling them would cost more than running them.
	if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
		return postgres.Classify(err)
	}
	// First, as RBAC writes do: the RBAC lock before the nesting and scope-set locks.
	regrouped, err := deriveGroupAssignments(ctx, tx, tenant, c.Groups)
	if err != nil {
		return err
	}
	if err := putSubjects(ctx, tx, tenant, c.Put); err != nil {
		return err
	}
	if err := dropSubjects(ctx, tx, tenant, c.Gone); err != nil {
		return err
	}
	joined, err := join(ctx, tx, tenant, c.Joined)
	if err != nil {
		return err
	}
	left, err := leave(ctx, tx, tenant, c.Left)
	if err != nil {
		return err
	}
	changed := append(joined, left...)

	// The closure: the groups named by changed memberships and subjects are settled, and
	// everything below a group that joined or left another is re-derived.
	var joinedGroups, settle, children, members []string
	goneGroup := false
	for _, s := range c.Put {
		if group, ok := strings.CutPrefix(s.ID, "group-"); ok {
			settle = append(settle, group)
		}
	}
	for _, s := range c.Gone {
		if group, ok := strings.CutPrefix(s, "group-"); ok {
			settle, goneGroup = append(settle, group), true
		}
	}
	for _, m := range joined {
		joinedGroups = append(joinedGroups, m.Group)
	}
	for _, m := range left {
		settle = append(settle, m.Group)
	}
	for _, m := range changed {
		members = append(members, m.Member)
		if child, ok := strings.CutPrefix(m.Member, "group-"); ok {
			children = append(children, child)
		}
	}
	members, children = sortedSet(members), sortedSet(children)
	if goneGroup {
		// A group's policies and nesting went: too much for the index to follow by key.
		if err := notifyIndex(ctx, tx, changeReset, tenant); err != nil {
			return err
		}
	}
	if err := notifyKeys(ctx, tx, changeMemberOf, tenant, members); err != nil {
		return err
	}
	if len(joinedGroups)+len(settle) > 0 {
		if err := nesting.Lock(ctx, tx, tenant); err != nil {
			return err
		}
		if err := rederive(ctx, tx, tenant, sortedSet(joinedGroups), sortedSet(settle), children); err != nil {
			return err
		}
	}
	if err := notifyKeys(ctx, tx, changeNesting, tenant, children); err != nil {
		return err
	}
	return v.Scopes.Refresh(ctx, tx, tenant, sortedSet(append(members, regrouped...)))
}

// putSubjects records subjects, in id order (so concurrent batches lock rows in one order).
func putSubjects(ctx context.Context, tx *sqlx.Tx, tenant string, subjects []events.Subject) error {
	if len(subjects) == 0 {
		return nil
	}
	subjects = slices.Clone(subjects)
	slices.SortFunc(subjects, func(a, b events.Subject) int { return strings.Compare(a.ID, b.ID) })
	ids, names := make([]string, len(subjects)), make([]string, len(subjects))
	for i, s := range subjects {
		ids[i], names[i] = s.ID, s.DisplayName
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO subject_view (tenant, subject, display_name)
		SELECT $1, s, n FROM unnest($2::text[], $3::text[]) AS x(s, n) ORDER BY s
		ON CONFLICT (tenant, subject) DO UPDATE SET display_name = EXCLUDED.display_name`, tenant, pq.StringArray(ids), pq.StringArray(names))
	return postgres.Classify(err)
}

// dropSubjects forgets deleted subjects and the policies, tenant roles and RBAC
// assignments granted to them. (Their memberships leave through their own tombstones,
// which iam-subjects publishes with the deletion.)
func dropSubjects(ctx context.Context, tx *sqlx.Tx, tenant string, subjects []string) error {
	if len(subjects) == 0 {
		return nil
	}
	gone := pq.StringArray(sortedSet(subjects))
	if _, err := tx.ExecContext(ctx, `DELETE FROM subject_view WHERE tenant = $1 AND subject = ANY($2)`, tenant, gone); err != nil {
		return postgres.Classify(err)
	}
	var keys []grantKey
	if err := tx.SelectContext(ctx, &keys, `DELETE FROM policies WHERE tenant = $1 AND subject = ANY($2) RETURNING scope, action`, tenant, gone); err != nil {
		return postgres.Classify(err)
	}
	if err := notifyGrants(ctx, tx, tenant, keys); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tenant_roles WHERE tenant = $1 AND subject = ANY($2)`, tenant, gone); err != nil {
		return postgres.Classify(err)
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM rbac_assignments WHERE tenant = $1 AND subject = ANY($2)`, tenant, gone)
	return postgres.Classify(err)
}

// join adds memberships to the set and returns those that were not in it. The view is a
// set: a membership that would close a cycle here (events can only arrive that way
// reordered) is kept too; the removal that preceded it at the source follows.
func join(ctx context.Context, tx *sqlx.Tx, tenant string, ms []events.Membership) ([]events.Membership, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	groups, members := membershipArrays(ms)
	var added []membershipRow
	err := tx.SelectContext(ctx, &added, `INSERT INTO membership_view (tenant, group_id, member)
		SELECT $1, g, m FROM unnest($2::text[], $3::text[]) AS x(g, m) ORDER BY g, m
		ON CONFLICT DO NOTHING RETURNING group_id, member`, tenant, groups, members)
	return memberships(added), postgres.Classify(err)
}

// leave removes memberships from the set and returns those that were in it.
func leave(ctx context.Context, tx *sqlx.Tx, tenant string, ms []events.Membership) ([]events.Membership, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	groups, members := membershipArrays(ms)
	var removed []membershipRow
	err := tx.SelectContext(ctx, &removed, `DELETE FROM membership_view v USING unnest($2::text[], $3::text[]) AS x(g, m)
		WHERE v.tenant = $1 AND v.group_id = x.g AND v.member = x.m RETURNING v.group_id, v.member`, tenant, groups, members)
	return memberships(removed), postgres.Classify(err)
}

type membershipRow struct {
	GroupID string `db:"group_id"`
	Member  string `db:"member"`
}

func memberships(rows []membershipRow) []events.Membership {
	out := make([]events.Membership, len(rows))
	for i, r := range rows {
		out[i] = events.Membership{Group: r.GroupID, Member: r.Member}
	}
	return out
}

// membershipArrays is ms as two arrays, in (group, member) order, so that concurrent
// batches lock rows in one order.
func membershipArrays(ms []events.Membership) (groups, members pq.StringArray) {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b events.Membership) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.Member, b.Member))
	})
	groups, members = make(pq.StringArray, len(ms)), make(pq.StringArray, len(ms))
	for i, m := range ms {
		groups[i], members[i] = m.Group, m.Member
	}
	return groups, members
}

// sortedSet is s sorted, without repeats.
func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// PutScopeRefs replaces the policy ids a scope definition names.
func (v *Views) PutScopeRefs(ctx context.Context, tx *sqlx.Tx, tenant, scope string, policyIDs []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM scope_policy_refs WHERE tenant = $1 AND scope = $2`, tenant, scope); err != nil {
		return postgres.Classify(err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO scope_policy_refs (tenant, scope, policy_id)
		SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING`, tenant, scope, pq.StringArray(policyIDs))
	return postgres.Classify(err)
}
