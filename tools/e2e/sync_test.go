package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"

	"github.com/iamplane/iam/pkg/events"

	policiesapi "github.com/iamplane/iam/services/iam-policies/api"
	subjectsapi "github.com/iamplane/iam/services/iam-subjects/api"
)

// TestDriftedViewIsRepaired: iam-policies' view of iam-subjects lost a membership and
// gained one the source never had (a lost event, a restore, a bug). A reconciliation
// pass, asked for as `iam-sync reconcile iam-policies` does, finds both through the
// digests, has iam-subjects resend them, and checks answer as the source says again.
func TestDriftedViewIsRepaired(t *testing.T) {
	p := mustPlatform(t)
	ctx := context.Background()
	pc := p.policiesClient(t)
	user, err := p.subjects.CreateUserWithResponse(ctx, "acme", subjectsapi.UserInput{Username: ptr("ivy")})
	if err != nil || user.JSON201 == nil {
		t.Fatalf("%v %s", err, user.Body)
	}
	uid := "user-" + user.JSON201.Id
	group, err := p.subjects.CreateGroupWithResponse(ctx, "acme", subjectsapi.GroupInput{DisplayName: ptr("Billing")})
	if err != nil || group.JSON201 == nil {
		t.Fatalf("%v %s", err, group.Body)
	}
	gid := group.JSON201.Id
	if resp, _ := p.subjects.AddGroupMembersWithResponse(ctx, "acme", gid, subjectsapi.MemberChange{SubjectIds: []string{uid}}); resp.JSON200 == nil {
		t.Fatalf("add: %s", resp.Body)
	}
	if grant, err := pc.GrantPolicyWithResponse(ctx, "acme", nil, policiesapi.PolicyInput{Subject: "group-" + gid, Scope: "/subscriptions/1", Action: "invoice.read"}); err != nil || grant.JSON201 == nil {
		t.Fatalf("grant: %v", err)
	}
	within(t, 10*time.Second, "ivy allowed through Billing", func() bool {
		return p.check(t, pc, uid, "invoice.read", "/subscriptions/1").Allowed
	})

	// Sabotage the view: ivy's membership lost, a stranger's membership that never was.
	db, err := sqlx.Open("postgres", p.databases["iam-policies"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lost := "iam.acme.subjects.membership." + gid + "~" + uid
	stray := "iam.acme.subjects.membership." + gid + "~user-stranger"
	for _, q := range []string{
		`DELETE FROM membership_view WHERE tenant = 'acme' AND member = '` + uid + `'`,
		`DELETE FROM event_versions WHERE subject = '` + lost + `'`,
		`INSERT INTO membership_view (tenant, group_id, member) VALUES ('acme', '` + gid + `', 'user-stranger')`,
		`INSERT INTO event_versions (subject, version, event_id, tenant) VALUES ('` + stray + `', 1, gen_random_uuid(), 'acme')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	nc, err := nats.Connect(p.nats.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	reconcile := func(dryRun bool) events.ReconcileReport {
		t.Helper()
		req, _ := json.Marshal(map[string]bool{"dryRun": dryRun})
		msg, err := nc.RequestWithContext(ctx, events.ReconcileSubject("iam-policies"), req)
		if err != nil {
			t.Fatal(err)
		}
		var reply struct {
			Report events.ReconcileReport `json:"report"`
			Error  string                 `json:"error"`
		}
		if err := json.Unmarshal(msg.Data, &reply); err != nil || reply.Error != "" {
			t.Fatalf("reconcile: %v %s", err, reply.Error)
		}
		return reply.Report
	}
	if rep := reconcile(true); rep.Differing == 0 {
		t.Fatalf("dry run found no drift: %+v", rep)
	}
	if rep := reconcile(false); rep.Resent != 2 {
		t.Fatalf("pass resent %d entities, want the 2 that differ: %+v", rep.Resent, rep)
	}
	within(t, 10*time.Second, "the view repaired", func() bool {
		var stranger int
		_ = db.Get(&stranger, `SELECT count(*) FROM membership_view WHERE member = 'user-stranger'`)
		return stranger == 0 && p.check(t, pc, uid, "invoice.read", "/subscriptions/1").Allowed
	})
	if rep := reconcile(true); rep.Differing != 0 {
		t.Fatalf("still differing after the repair: %+v", rep)
	}
}
