package iampolicies_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iamplane/iam/services/iam-policies/api"
)

func TestPolicies(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	p := s.grant(t, "user-u1", "/providers/aritma.control/subscriptions/7", "sub.read")
	if *p.ResourceProvider != "aritma.control" || *p.ResourceType != "subscriptions" {
		t.Errorf("derived resource %+v", p)
	}
	again, _ := s.admin.GrantPolicyWithResponse(ctx, "acme", nil, api.PolicyInput{Subject: "user-u1", Scope: "/providers/aritma.control/subscriptions/7", Action: "sub.read"})
	if again.StatusCode() != 200 || again.JSON200.Id != p.Id {
		t.Fatalf("regrant: %d %s", again.StatusCode(), again.Body)
	}
	s.grant(t, "user-u1", "/", "iam.user_read")
	s.grant(t, "user-u2", "/billing", "sub.read")

	list, _ := s.admin.ListPoliciesWithResponse(ctx, "acme", &api.ListPoliciesParams{ResourceProvider: ptr("aritma.control")})
	if list.JSON200.Total != 1 || list.JSON200.Data[0].Id != p.Id {
		t.Errorf("filter by provider: %s", list.Body)
	}
	byAction, _ := s.admin.ListPoliciesWithResponse(ctx, "acme", &api.ListPoliciesParams{Action: ptr("sub.read")})
	if byAction.JSON200.Total != 2 {
		t.Errorf("filter by action: %s", byAction.Body)
	}

	for _, tc := range []struct {
		subject, action, scope string
		want                   bool
	}{
		{"user-u1", "sub.read", "/providers/aritma.control/subscriptions/7", true},
		{"user-u1", "sub.read", "/providers/aritma.control/subscriptions/7/invoices/1", true},
		{"user-u1", "sub.read", "/providers/aritma.control/subscriptions/8", false},
		{"user-u1", "sub.read", "/providers/aritma.control", false},
		{"user-u1", "iam.user_read", "/anything/at/all", true},
		{"user-u2", "sub.read", "/billingx", false}, // a sibling sharing a prefix is not below
		{"user-u2", "sub.read", "/billing/x", true},
		{"user-u3", "sub.read", "/billing/x", false},
	} {
		if got := s.allowed(t, tc.subject, tc.action, tc.scope); got != tc.want {
			t.Errorf("%s %s %s: %v", tc.subject, tc.action, tc.scope, got)
		}
	}

	batch, err := s.admin.CheckBatchWithResponse(ctx, "acme", nil, api.CheckBatchRequest{Checks: []api.CheckRequest{
		{Subject: "user-u2", Action: "sub.read", Scope: "/billing/x"}, {Subject: "user-u3", Action: "sub.read", Scope: "/billing/x"}}})
	if err != nil || batch.JSON200 == nil || !batch.JSON200.Decisions[0].Allowed || batch.JSON200.Decisions[1].Allowed {
		t.Fatalf("batch: %v %s", err, batch.Body)
	}

	scopes, _ := s.admin.GetEffectiveScopesWithResponse(ctx, "acme", "user-u1", nil)
	if scopes.JSON200.Scopes != "iam.user_read tenant=acme" {
		t.Errorf("scopes %q", scopes.JSON200.Scopes)
	}

	revoked, _ := s.admin.RevokePoliciesWithResponse(ctx, "acme", &api.RevokePoliciesParams{Subject: "user-u1", Action: ptr("sub.read")})
	if revoked.JSON200 == nil || revoked.JSON200.Revoked != 1 {
		t.Fatalf("revoke: %s", revoked.Body)
	}
	if s.allowed(t, "user-u1", "sub.read", "/providers/aritma.control/subscriptions/7") {
		t.Error("revoked policy still allows")
	}
	if resp, _ := s.admin.RevokePoliciesWithResponse(ctx, "acme", &api.RevokePoliciesParams{}); resp.StatusCode() != 400 {
		t.Errorf("revoke without subject: %d", resp.StatusCode())
	}
}

func TestBadInputAndScopes(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	for name, in := range map[string]api.PolicyInput{
		"relative scope":  {Subject: "user-u1", Scope: "billing", Action: "a"},
		"bad subject":     {Subject: "robot-1", Scope: "/", Action: "a"},
		"empty action":    {Subject: "user-u1", Scope: "/", Action: ""},
		"dot-dot segment": {Subject: "user-u1", Scope: "/a//b", Action: "a"},
	} {
		if resp, _ := s.admin.GrantPolicyWithResponse(ctx, "acme", nil, in); resp.StatusCode() != 400 {
			t.Errorf("%s: %d %s", name, resp.StatusCode(), resp.Body)
		}
	}
	checker := s.as(t, s.Issuer.Token(t, "acme", "client-c", "iam.check"))
	if resp, _ := checker.CheckWithResponse(ctx, "acme", nil, api.CheckRequest{Subject: "user-u1", Action: "a", Scope: "/"}); resp.StatusCode() != 200 {
		t.Errorf("iam.check may check: %d", resp.StatusCode())
	}
	if resp, _ := checker.GrantPolicyWithResponse(ctx, "acme", nil, api.PolicyInput{Subject: "user-u1", Scope: "/", Action: "a"}); resp.StatusCode() != 403 {
		t.Errorf("iam.check may not grant: %d", resp.StatusCode())
	}
	other := s.as(t, s.Issuer.Token(t, "globex", "client-c", "services.iam"))
	if resp, _ := other.CheckWithResponse(ctx, "acme", nil, api.CheckRequest{Subject: "user-u1", Action: "a", Scope: "/"}); resp.StatusCode() != 403 {
		t.Errorf("another tenant's token: %d", resp.StatusCode())
	}
}

func TestTenantRoles(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	if resp, _ := s.admin.GetTenantRolesWithResponse(ctx, "acme", "user-u1"); len(resp.JSON200.TenantRoles) != 0 {
		t.Errorf("initial roles %s", resp.Body)
	}
	if resp, _ := s.admin.SetTenantRolesWithResponse(ctx, "acme", "user-u1", nil, api.TenantRolesInput{TenantRoles: []string{"TenantAdmin"}}); resp.StatusCode() != 200 {
		t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
	}
	eff, _ := s.admin.GetEffectivePoliciesWithResponse(ctx, "acme", "user-u1", nil)
	if !slices.Equal(eff.JSON200.TenantRoles, []string{"TenantAdmin"}) {
		t.Errorf("effective roles %s", eff.Body)
	}
	me := s.as(t, s.Issuer.Token(t, "acme", "user-u1", "iam.policy_read"))
	mine, _ := me.GetEffectivePoliciesWithResponse(ctx, "acme", "me", nil)
	if mine.JSON200 == nil || mine.JSON200.Subject != "user-u1" {
		t.Errorf("me: %s", mine.Body)
	}
}

// TestViewsFromEvents drives the membership view with events, as iam-subjects publishes
// them: nesting, a diamond, a duplicate, and a cycle that only reordering could produce.
func TestViewsFromEvents(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	s.grant(t, "group-top", "/docs", "doc.read")
	s.membership(t, "top", "group-left", false)
	s.membership(t, "top", "group-right", false)
	s.membership(t, "left", "group-leaf", false)
	s.membership(t, "right", "group-leaf", false)
	s.membership(t, "leaf", "user-u1", false)
	within(t, 5*time.Second, "nested membership applied", func() bool { return s.allowed(t, "user-u1", "doc.read", "/docs/1") })

	s.membership(t, "left", "group-leaf", true) // one side of the diamond goes; the other remains
	s.membership(t, "leaf", "user-u2", false)
	within(t, 5*time.Second, "u2 applied", func() bool { return s.allowed(t, "user-u2", "doc.read", "/docs/1") })
	if !s.allowed(t, "user-u1", "doc.read", "/docs/1") {
		t.Fatal("removing one path of a diamond removed the access")
	}
	// A membership that would close a cycle (top ⊃ right ⊃ leaf ⊃ top) can only arrive by
	// reordering: it is never applied, and later events still flow.
	s.membership(t, "leaf", "group-top", false)
	s.membership(t, "other", "user-u3", false)
	s.grant(t, "group-other", "/docs", "doc.read")
	within(t, 5*time.Second, "events after the cycle attempt", func() bool { return s.allowed(t, "user-u3", "doc.read", "/docs") })
	if s.allowed(t, "user-u3", "doc.read", "/elsewhere") {
		t.Error("unrelated access")
	}

	s.membership(t, "right", "group-leaf", true)
	within(t, 5*time.Second, "both paths gone", func() bool { return !s.allowed(t, "user-u1", "doc.read", "/docs/1") })
}

func TestReverseLookups(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	s.grant(t, "group-ops", "/subscriptions/1", "invoice.read")
	s.grant(t, "user-direct", "/subscriptions", "invoice.read")
	s.grant(t, "user-other", "/elsewhere", "invoice.read")
	s.membership(t, "ops", "group-oncall", false)
	s.membership(t, "oncall", "user-u1", false)
	s.membership(t, "ops", "client-c1", false)
	within(t, 5*time.Second, "nesting applied", func() bool {
		return s.allowed(t, "user-u1", "invoice.read", "/subscriptions/1/x") && s.allowed(t, "client-c1", "invoice.read", "/subscriptions/1/x")
	})

	who, err := s.admin.WhoMayWithResponse(ctx, "acme", &api.WhoMayParams{Action: "invoice.read", Scope: "/subscriptions/1/invoices/9"})
	if err != nil || who.JSON200 == nil {
		t.Fatalf("who: %v %s", err, who.Body)
	}
	got := map[string]string{}
	for _, d := range who.JSON200.Data {
		got[d.Subject] = d.GrantedTo
	}
	want := map[string]string{"group-ops": "group-ops", "group-oncall": "group-ops", "user-u1": "group-ops", "client-c1": "group-ops", "user-direct": "user-direct"}
	if len(got) != len(want) || who.JSON200.Total != int32(len(want)) {
		t.Fatalf("who may: %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: via %q, want %q", k, got[k], v)
		}
	}

	where, err := s.admin.WhereMayWithResponse(ctx, "acme", "user-u1", &api.WhereMayParams{Action: "invoice.read"})
	if err != nil || where.JSON200 == nil || len(where.JSON200.Scopes) != 1 || where.JSON200.Scopes[0].Scope != "/subscriptions/1" || where.JSON200.Scopes[0].GrantedTo != "group-ops" {
		t.Fatalf("where may: %v %s", err, where.Body)
	}
}

// TestPolicyReferencedByAScopeIsKept: while oauth-clients' scope definition names a policy
// (as its userPolicyId), revoking it is refused naming the scope; once the scope stops
// naming it, the revocation goes through.
func TestPolicyReferencedByAScopeIsKept(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	p := s.grant(t, "group-devs", "/", "billing.invoices_read")
	s.scopeDefinition(t, "billing.invoices_read", p.Id, 1)
	resp, _ := s.admin.RevokePoliciesWithResponse(ctx, "acme", &api.RevokePoliciesParams{Subject: "group-devs"})
	if resp.StatusCode() != http.StatusConflict || !strings.Contains(string(resp.Body), "billing.invoices_read") {
		t.Fatalf("revoking a referenced policy: %d %s", resp.StatusCode(), resp.Body)
	}
	if !s.allowed(t, "group-devs", "billing.invoices_read", "/") {
		t.Fatal("the refused revocation removed the policy")
	}
	s.scopeDefinition(t, "billing.invoices_read", "", 2)
	if resp, _ := s.admin.RevokePoliciesWithResponse(ctx, "acme", &api.RevokePoliciesParams{Subject: "group-devs"}); resp.JSON200 == nil || resp.JSON200.Revoked != 1 {
		t.Fatalf("revoking the released policy: %d %s", resp.StatusCode(), resp.Body)
	}
}

// TestGroupDeletedWhileChecksRun deletes a nested group, as iam-subjects publishes it
// (the group's tombstone and its memberships'), under a steady stream of checks: every
// check answers, none fails, and the access through the group ends.
func TestGroupDeletedWhileChecksRun(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	s.grant(t, "group-top", "/docs", "doc.read")
	s.grant(t, "group-mid", "/docs/x", "doc.read")
	s.membership(t, "top", "group-mid", false)
	s.membership(t, "mid", "user-w", false)
	within(t, 5*time.Second, "nesting applied", func() bool { return s.allowed(t, "user-w", "doc.read", "/docs/x/1") })

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var failures, checks atomic.Int64
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := s.admin.CheckWithResponse(ctx, "acme", nil, api.CheckRequest{Subject: "user-w", Action: "doc.read", Scope: "/docs/x/1"})
				if ctx.Err() != nil {
					return
				}
				checks.Add(1)
				if err != nil || resp.JSON200 == nil {
					failures.Add(1)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	s.subjectDeleted(t, "group", "mid")
	s.membership(t, "top", "group-mid", true)
	s.membership(t, "mid", "user-w", true)
	within(t, 5*time.Second, "access through the deleted group ends", func() bool { return !s.allowed(t, "user-w", "doc.read", "/docs/x/1") })
	time.Sleep(50 * time.Millisecond)
	stop()
	wg.Wait()
	if failures.Load() > 0 || checks.Load() == 0 {
		t.Fatalf("%d of %d checks failed while the group was deleted", failures.Load(), checks.Load())
	}
	if s.allowed(t, "user-w", "doc.read", "/docs/y") {
		t.Error("the group's member still inherits from its former parent")
	}
}

// TestConcurrentChangesPublishTheWholeScopeSet races a grant to a group against the
// membership that puts a user in it, round after round: the user's last published scope
// set must hold the grant whichever transaction commits first.
func TestConcurrentChangesPublishTheWholeScopeSet(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	watch := s.scopeSets(t)
	for i := range 20 {
		group, user, scope := fmt.Sprintf("g%d", i), fmt.Sprintf("user-x%d", i), fmt.Sprintf("race.r%d", i)
		var wg sync.WaitGroup
		wg.Go(func() { s.grant(t, "group-"+group, "/", scope) })
		wg.Go(func() { s.membership(t, group, user, false) })
		wg.Wait()
		watch.await(t, user, scope)
	}
}
