package postgres

import (
	"context"
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

// PutSubject records a subject.
func (v *Views) PutSubject(ctx context.Context, tx *sqlx.Tx, tenant, subject, displayName string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO subject_view (tenant, subject, display_name) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, subject) DO UPDATE SET display_name = EXCLUDED.display_name`, tenant, subject, displayName)
	if err != nil {
		return postgres.Classify(err)
	}
	if group, ok := strings.CutPrefix(subject, "group-"); ok {
		if err := nesting.Lock(ctx, tx, tenant); err != nil {
			return err
		}
		return settleGroups(ctx, tx, tenant, []string{group})
	}
	return nil
}

// DropSubject forgets a deleted subject and the policies and RBAC assignments granted to
// it. (Its memberships leave through their own tombstones, which iam-subjects publishes
// with the deletion.)
func (v *Views) DropSubject(ctx context.Context, tx *sqlx.Tx, tenant, subject string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM subject_view WHERE tenant = $1 AND subject = $2`, tenant, subject); err != nil {
		return postgres.Classify(err)
	}
	var keys []grantKey
	if err := tx.SelectContext(ctx, &keys, `DELETE FROM policies WHERE tenant = $1 AND subject = $2 RETURNING scope, action`, tenant, subject); err != nil {
		return postgres.Classify(err)
	}
	if err := notifyGrants(ctx, tx, tenant, keys); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tenant_roles WHERE tenant = $1 AND subject = $2`, tenant, subject); err != nil {
		return postgres.Classify(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM rbac_assignments WHERE tenant = $1 AND subject = $2`, tenant, subject); err != nil {
		return postgres.Classify(err)
	}
	if group, ok := strings.CutPrefix(subject, "group-"); ok {
		if err := notifyIndex(ctx, tx, changeReset, tenant); err != nil {
			return err
		}
		if err := nesting.Lock(ctx, tx, tenant); err != nil {
			return err
		}
		return settleGroups(ctx, tx, tenant, []string{group})
	}
	return nil
}

// PutMembership records member ∈ group and re-derives the closure it touches. The view is
// a set: a membership that would close a cycle here (events can only arrive that way
// reordered) is kept too; the removal that preceded it at the source follows.
func (v *Views) PutMembership(ctx context.Context, tx *sqlx.Tx, tenant, groupID, member string) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO membership_view (tenant, group_id, member) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		tenant, groupID, member)
	if err != nil {
		return postgres.Classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	return v.membershipChanged(ctx, tx, tenant, groupID, member)
}

// DropMembership removes member from group and re-derives the closure it touched.
func (v *Views) DropMembership(ctx context.Context, tx *sqlx.Tx, tenant, groupID, member string) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM membership_view WHERE tenant = $1 AND group_id = $2 AND member = $3`, tenant, groupID, member)
	if err != nil {
		return postgres.Classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	return v.membershipChanged(ctx, tx, tenant, groupID, member)
}

// membershipChanged brings the closure, the check index and the scope sets in line with
// the membership set after member joined or left group.
func (v *Views) membershipChanged(ctx context.Context, tx *sqlx.Tx, tenant, groupID, member string) error {
	if err := notifyIndex(ctx, tx, changeMemberOf, tenant, member); err != nil {
		return err
	}
	if err := nesting.Lock(ctx, tx, tenant); err != nil {
		return err
	}
	if child, ok := strings.CutPrefix(member, "group-"); ok {
		if err := settleGroups(ctx, tx, tenant, []string{groupID}); err != nil {
			return err
		}
		if err := rederiveBelow(ctx, tx, tenant, child); err != nil {
			return err
		}
		if err := notifyIndex(ctx, tx, changeNesting, tenant, child); err != nil {
			return err
		}
	} else if err := settleGroups(ctx, tx, tenant, []string{groupID}); err != nil {
		return err
	}
	return v.Scopes.Refresh(ctx, tx, tenant, []string{member})
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
