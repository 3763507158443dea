package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/iamplane/iam/pkg/closure"
	"github.com/iamplane/iam/pkg/postgres"

	"github.com/iamplane/iam/services/iam-policies/internal/events"
)

// nesting is this service's closure of group nesting, built from membership events.
const nesting = closure.Table("group_closure")

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
		return nesting.AddGroup(ctx, tx, tenant, group)
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
		return nesting.RemoveGroup(ctx, tx, tenant, group)
	}
	return nil
}

// PutMembership records member ∈ group and, for a nested group, extends the closure. A
// membership that would close a cycle in this view (events can only arrive that way
// reordered) is refused and retried until the removal that preceded it has arrived.
func (v *Views) PutMembership(ctx context.Context, tx *sqlx.Tx, tenant, groupID, member string) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO membership_view (tenant, group_id, member) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		tenant, groupID, member)
	if err != nil {
		return postgres.Classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if err := notifyIndex(ctx, tx, changeMemberOf, tenant, member); err != nil {
		return err
	}
	// The group's own closure row, in case its membership arrives before the group.
	if err := nesting.AddGroup(ctx, tx, tenant, groupID); err != nil {
		return err
	}
	if child, ok := strings.CutPrefix(member, "group-"); ok {
		if err := nesting.Lock(ctx, tx, tenant); err != nil {
			return err
		}
		for _, g := range []string{groupID, child} {
			if err := nesting.AddGroup(ctx, tx, tenant, g); err != nil {
				return err
			}
		}
		cycle, err := nesting.Contains(ctx, tx, tenant, groupID, []string{child})
		if err != nil {
			return err
		}
		if len(cycle) > 0 {
			return fmt.Errorf("membership %s ∈ %s would close a cycle in this view; waiting for the events before it", member, groupID)
		}
		if err := nesting.Nest(ctx, tx, tenant, groupID, child, 1); err != nil {
			return err
		}
		if err := notifyIndex(ctx, tx, changeNesting, tenant, child); err != nil {
			return err
		}
	}
	return v.Scopes.Refresh(ctx, tx, tenant, []string{member})
}

// DropMembership removes member from group.
func (v *Views) DropMembership(ctx context.Context, tx *sqlx.Tx, tenant, groupID, member string) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM membership_view WHERE tenant = $1 AND group_id = $2 AND member = $3`, tenant, groupID, member)
	if err != nil {
		return postgres.Classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if err := notifyIndex(ctx, tx, changeMemberOf, tenant, member); err != nil {
		return err
	}
	if child, ok := strings.CutPrefix(member, "group-"); ok {
		if err := nesting.Lock(ctx, tx, tenant); err != nil {
			return err
		}
		if err := nesting.Nest(ctx, tx, tenant, groupID, child, -1); err != nil {
			return err
		}
		if err := notifyIndex(ctx, tx, changeNesting, tenant, child); err != nil {
			return err
		}
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
