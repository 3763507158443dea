package faults

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"

	policiesapi "github.com/iamplane/iam/services/iam-policies/api"
	subjectsapi "github.com/iamplane/iam/services/iam-subjects/api"
)

// Redelivery (5) is the reproduction: group G is nested in group P; G leaves P and
// is then deleted. iam-policies receives the membership's tombstone but is killed before
// it acknowledges it, so JetStream redelivers that older event (after AckWait) behind the
// newer ones the restarted service has applied meanwhile: G's own tombstone and its
// members'. Afterwards no closure row may name G and a check through G must be denied.
//
// To hold iam-policies between receiving the event and acknowledging it, the suite locks
// its event_versions table: the consumer's version guard waits on the lock, the suite sees
// it waiting (pg_stat_activity) and sends SIGKILL. The reconciler runs every 10 minutes
// here (not every 5 s), so that the redelivery, not a repair, is what the view gets.
func Redelivery(ctx context.Context, s *Suite, r *Result) error {
	p, err := s.platform(ctx, r, Options{Env: map[string]string{"IAM_RECONCILE_INTERVAL": "10m"}})
	if err != nil {
		return err
	}
	defer p.Close()
	w, err := NewWorkload(ctx, p, workers, s.Seed)
	if err != nil {
		return err
	}
	w.Run(ctx, s.writes(400), 0)

	const tenant, scope, action = "acme", "/faults/redelivery", "fault.read"
	wk := &worker{w: w, tenant: tenant, rng: rand.New(rand.NewPCG(s.Seed, 99))}
	groupP, err := wk.createGroup(ctx)
	if err != nil {
		return err
	}
	groupG, err := wk.createGroup(ctx)
	if err != nil {
		return err
	}
	viaG, err := wk.createUser(ctx) // in G, so allowed through G ∈ P
	if err != nil {
		return err
	}
	direct, err := wk.createUser(ctx) // in P directly: stays allowed
	if err != nil {
		return err
	}
	for _, m := range [][2]string{{groupP, "group-" + groupG}, {groupG, "user-" + viaG}, {groupP, "user-" + direct}} {
		if err := wk.mustAddMember(ctx, m[0], m[1]); err != nil {
			return err
		}
	}
	grant, err := w.policies.GrantPolicyWithResponse(ctx, tenant, nil, policiesapi.PolicyInput{Subject: "group-" + groupP, Scope: scope, Action: action})
	if o := w.classify("grant policy", status(grant, err), err); o != outcomeOK {
		return fmt.Errorf("grant policy: %v %s", err, body(grant))
	}
	w.note(outcomeOK, "policy", tenant, []string{"group-" + groupP, scope, action}, state{present: true})
	check := func(user string) (bool, error) {
		resp, err := w.policies.CheckWithResponse(ctx, tenant, &policiesapi.CheckParams{},
			policiesapi.CheckRequest{Subject: "user-" + user, Action: action, Scope: scope + "/x"})
		if err != nil || resp.JSON200 == nil {
			return false, fmt.Errorf("check: %v %s", err, body(resp))
		}
		return resp.JSON200.Allowed, nil
	}
	if err := until(ctx, 30*time.Second, func() (bool, error) { return check(viaG) }); err != nil {
		return fmt.Errorf("a user in G never allowed through P before the fault: %w", err)
	}

	db, err := p.DB("iam-policies")
	if err != nil {
		return err
	}
	lock, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = lock.Rollback() }()
	if _, err := lock.ExecContext(ctx, `LOCK TABLE event_versions IN EXCLUSIVE MODE`); err != nil {
		return err
	}
	removed, err := w.subjects.RemoveGroupMembersWithResponse(ctx, tenant, groupP, subjectsapi.MemberChange{SubjectIds: []string{"group-" + groupG}})
	o := w.classify("remove member", status(removed, err), err)
	if o != outcomeOK {
		return fmt.Errorf("remove G from P: %v %s", err, body(removed))
	}
	w.note(o, "membership", tenant, []string{groupP, "group-" + groupG}, state{})
	// The consumer has the tombstone once its version guard waits on the lock.
	if err := until(ctx, 15*time.Second, func() (bool, error) {
		var waiting int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%event_versions%'`).Scan(&waiting)
		return waiting > 0, err
	}); err != nil {
		return fmt.Errorf("iam-policies never received the membership's tombstone: %w", err)
	}
	p.Kill("iam-policies", 0)
	if err := lock.Rollback(); err != nil {
		return err
	}
	deleted, err := w.subjects.DeleteGroupWithResponse(ctx, tenant, groupG, &subjectsapi.DeleteGroupParams{ForceDelete: ptr(true)})
	o = w.classify("delete group", status(deleted, err), err)
	if o != outcomeOK {
		return fmt.Errorf("delete G: %v %s", err, body(deleted))
	}
	w.note(o, "group", tenant, []string{groupG}, state{})
	w.cascade(o, tenant, groupG, "group-"+groupG)
	if err := p.StartService(ctx, "iam-policies", 0); err != nil {
		return err
	}
	faultEnd := time.Now()

	// The old tombstone comes back after AckWait (30 s), behind the newer events.
	membership := fmt.Sprintf("iam.%s.subjects.membership.%s~group-%s", tenant, groupP, groupG)
	group := fmt.Sprintf("iam.%s.subjects.group.%s", tenant, groupG)
	var membershipAt, groupAt time.Time
	if err := until(ctx, 90*time.Second, func() (bool, error) {
		err := db.QueryRowContext(ctx, `SELECT m.applied_at, g.applied_at FROM event_versions m, event_versions g
			WHERE m.subject = $1 AND m.deleted AND g.subject = $2 AND g.deleted`, membership, group).Scan(&membershipAt, &groupAt)
		if err == sql.ErrNoRows {
			return false, nil
		}
		return err == nil, err
	}); err != nil {
		return fmt.Errorf("the membership's tombstone was never applied: %w", err)
	}
	r.note("G's tombstone applied %s after the restart; the membership P∋G's (older) tombstone %s after it",
		groupAt.Sub(faultEnd).Round(100*time.Millisecond), membershipAt.Sub(groupAt).Round(100*time.Millisecond))
	if !membershipAt.After(groupAt) {
		r.note("the redelivery did not come behind the newer event: the reproduction did not reproduce")
	}

	if err := s.finish(ctx, p, w, r, faultEnd); err != nil {
		return err
	}
	var closureRows, memberships int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM group_closure WHERE tenant = $1 AND (ancestor = $2 OR descendant = $2)`,
		tenant, groupG).Scan(&closureRows); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM membership_view WHERE tenant = $1 AND (group_id = $2 OR member = $3)`,
		tenant, groupG, "group-"+groupG).Scan(&memberships); err != nil {
		return err
	}
	allowedViaG, err := check(viaG)
	if err != nil {
		return err
	}
	allowedDirect, err := check(direct)
	if err != nil {
		return err
	}
	r.note("after: %d closure rows and %d memberships name G; the user in G allowed: %t; the user in P allowed: %t",
		closureRows, memberships, allowedViaG, allowedDirect)
	if closureRows > 0 || memberships > 0 || allowedViaG || !allowedDirect {
		return fmt.Errorf("iam-policies' view still holds the deleted group G (%s) after the redelivery", groupG)
	}
	return nil
}

// mustAddMember adds member to group and fails unless the answer is 2xx.
func (wk *worker) mustAddMember(ctx context.Context, group, member string) error {
	resp, err := wk.w.subjects.AddGroupMembersWithResponse(ctx, wk.tenant, group, subjectsapi.MemberChange{SubjectIds: []string{member}})
	o := wk.w.classify("add member", status(resp, err), err)
	if o != outcomeOK {
		return fmt.Errorf("add %s to %s: %v %s", member, group, err, body(resp))
	}
	wk.w.note(o, "membership", wk.tenant, []string{group, member}, state{present: true})
	return nil
}

// until polls cond every 100 ms until it holds, fails, or d passes.
func until(ctx context.Context, d time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	var last error
	for {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		last = err
		if time.Now().After(deadline) || ctx.Err() != nil {
			if last != nil {
				return fmt.Errorf("not within %s: %w", d, last)
			}
			return fmt.Errorf("not within %s", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
