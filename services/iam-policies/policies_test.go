package iampolicies_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/iamplane/iam/services/iam-policies/api"
)

func TestPolicies(t *testing.T) {
	s := mustStart(t)
	ctx := context.Background()
	p := s.grant("user-u1", "/providers/aritma.control/subscriptions/7", "sub.read")
	if *p.ResourceProvider != "aritma.control" || *p.ResourceType != "subscriptions" {
		t.Errorf("derived resource %+v", p)
	}
	again, _ := s.admin.GrantPolicyWithResponse(ctx, "acme", api.PolicyInput{Subject: "user-u1", Scope: "/providers/aritma.control/subscriptions/7", Action: "sub.read"})
	if again.StatusCode() != 200 || again.JSON200.Id != p.Id {
		t.Fatalf("regrant: %d %s", again.StatusCode(), again.Body)
	}
	s.grant("user-u1", "/", "iam.user_read")
	s.grant("user-u2", "/billing", "sub.read")

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
		if got := s.allowed(tc.subject, tc.action, tc.scope); got != tc.want {
			t.Errorf("%s %s %s: %v", tc.subject, tc.action, tc.scope, got)
		}
	}

	batch, err := s.admin.CheckBatchWithResponse(ctx, "acme", api.CheckBatchRequest{Checks: []api.CheckRequest{
		{Subject: "user-u2", Action: "sub.read", Scope: "/billing/x"}, {Subject: "user-u3", Action: "sub.read", Scope: "/billing/x"}}})
	if err != nil || batch.JSON200 == nil || !batch.JSON200.Decisions[0].Allowed || batch.JSON200.Decisions[1].Allowed {
		t.Fatalf("batch: %v %s", err, batch.Body)
	}

	scopes, _ := s.admin.GetEffectiveScopesWithResponse(ctx, "acme", "user-u1")
	if scopes.JSON200.Scopes != "iam.user_read tenant=acme" {
		t.Errorf("scopes %q", scopes.JSON200.Scopes)
	}

	revoked, _ := s.admin.RevokePoliciesWithResponse(ctx, "acme", &api.RevokePoliciesParams{Subject: "user-u1", Action: ptr("sub.read")})
	if revoked.JSON200 == nil || revoked.JSON200.Revoked != 1 {
		t.Fatalf("revoke: %s", revoked.Body)
	}
	if s.allowed("user-u1", "sub.read", "/providers/aritma.control/subscriptions/7") {
		t.Error("revoked policy still allows")
	}
	if resp, _ := s.admin.RevokePoliciesWithResponse(ctx, "acme", &api.RevokePoliciesParams{}); resp.StatusCode() != 400 {
		t.Errorf("revoke without subject: %d", resp.StatusCode())
	}
}

func TestBadInputAndScopes(t *testing.T) {
	s := mustStart(t)
	ctx := context.Background()
	for name, in := range map[string]api.PolicyInput{
		"relative scope":  {Subject: "user-u1", Scope: "billing", Action: "a"},
		"bad subject":     {Subject: "robot-1", Scope: "/", Action: "a"},
		"empty action":    {Subject: "user-u1", Scope: "/", Action: ""},
		"dot-dot segment": {Subject: "user-u1", Scope: "/a//b", Action: "a"},
	} {
		if resp, _ := s.admin.GrantPolicyWithResponse(ctx, "acme", in); resp.StatusCode() != 400 {
			t.Errorf("%s: %d %s", name, resp.StatusCode(), resp.Body)
		}
	}
	checker := s.as(s.issuer.Token(t, "acme", "client-c", "iam.check"))
	if resp, _ := checker.CheckWithResponse(ctx, "acme", api.CheckRequest{Subject: "user-u1", Action: "a", Scope: "/"}); resp.StatusCode() != 200 {
		t.Errorf("iam.check may check: %d", resp.StatusCode())
	}
	if resp, _ := checker.GrantPolicyWithResponse(ctx, "acme", api.PolicyInput{Subject: "user-u1", Scope: "/", Action: "a"}); resp.StatusCode() != 403 {
		t.Errorf("iam.check may not grant: %d", resp.StatusCode())
	}
	other := s.as(s.issuer.Token(t, "globex", "client-c", "services.iam"))
	if resp, _ := other.CheckWithResponse(ctx, "acme", api.CheckRequest{Subject: "user-u1", Action: "a", Scope: "/"}); resp.StatusCode() != 403 {
		t.Errorf("another tenant's token: %d", resp.StatusCode())
	}
}

func TestTenantRoles(t *testing.T) {
	s := mustStart(t)
	ctx := context.Background()
	if resp, _ := s.admin.GetTenantRolesWithResponse(ctx, "acme", "user-u1"); len(resp.JSON200.TenantRoles) != 0 {
		t.Errorf("initial roles %s", resp.Body)
	}
	if resp, _ := s.admin.SetTenantRolesWithResponse(ctx, "acme", "user-u1", api.TenantRolesInput{TenantRoles: []string{"TenantAdmin"}}); resp.StatusCode() != 200 {
		t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
	}
	eff, _ := s.admin.GetEffectivePoliciesWithResponse(ctx, "acme", "user-u1", nil)
	if !slices.Equal(eff.JSON200.TenantRoles, []string{"TenantAdmin"}) {
		t.Errorf("effective roles %s", eff.Body)
	}
	me := s.as(s.issuer.Token(t, "acme", "user-u1", "iam.policy_read"))
	mine, _ := me.GetEffectivePoliciesWithResponse(ctx, "acme", "me", nil)
	if mine.JSON200 == nil || mine.JSON200.Subject != "user-u1" {
		t.Errorf("me: %s", mine.Body)
	}
}

// TestViewsFromEvents drives the membership view with events, as iam-subjects publishes
// them: nesting, a diamond, a duplicate, and a cycle that only reordering could produce.
func TestViewsFromEvents(t *testing.T) {
	s := mustStart(t)
	s.grant("group-top", "/docs", "doc.read")
	s.membership("top", "group-left", false)
	s.membership("top", "group-right", false)
	s.membership("left", "group-leaf", false)
	s.membership("right", "group-leaf", false)
	s.membership("leaf", "user-u1", false)
	within(t, 5*time.Second, "nested membership applied", func() bool { return s.allowed("user-u1", "doc.read", "/docs/1") })

	s.membership("left", "group-leaf", true) // one side of the diamond goes; the other remains
	s.membership("leaf", "user-u2", false)
	within(t, 5*time.Second, "u2 applied", func() bool { return s.allowed("user-u2", "doc.read", "/docs/1") })
	if !s.allowed("user-u1", "doc.read", "/docs/1") {
		t.Fatal("removing one path of a diamond removed the access")
	}
	// A membership that would close a cycle (top ⊃ right ⊃ leaf ⊃ top) can only arrive by
	// reordering: it is never applied, and later events still flow.
	s.membership("leaf", "group-top", false)
	s.membership("other", "user-u3", false)
	s.grant("group-other", "/docs", "doc.read")
	within(t, 5*time.Second, "events after the cycle attempt", func() bool { return s.allowed("user-u3", "doc.read", "/docs") })
	if s.allowed("user-u3", "doc.read", "/elsewhere") {
		t.Error("unrelated access")
	}

	s.membership("right", "group-leaf", true)
	within(t, 5*time.Second, "both paths gone", func() bool { return !s.allowed("user-u1", "doc.read", "/docs/1") })
}

func TestReverseLookups(t *testing.T) {
	s := mustStart(t)
	ctx := context.Background()
	s.grant("group-ops", "/subscriptions/1", "invoice.read")
	s.grant("user-direct", "/subscriptions", "invoice.read")
	s.grant("user-other", "/elsewhere", "invoice.read")
	s.membership("ops", "group-oncall", false)
	s.membership("oncall", "user-u1", false)
	s.membership("ops", "client-c1", false)
	within(t, 5*time.Second, "nesting applied", func() bool {
		return s.allowed("user-u1", "invoice.read", "/subscriptions/1/x") && s.allowed("client-c1", "invoice.read", "/subscriptions/1/x")
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
