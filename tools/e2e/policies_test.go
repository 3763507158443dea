package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	policiesapi "github.com/iamplane/iam/services/iam-policies/api"
	subjectsapi "github.com/iamplane/iam/services/iam-subjects/api"
	clientsapi "github.com/iamplane/iam/services/oauth-clients/api"
)

func (p *platform) policiesClient(t *testing.T) *policiesapi.ClientWithResponses {
	t.Helper()
	token := mustToken(t, p.URL, "system", adminID, adminSecret)
	c, err := policiesapi.NewClientWithResponses(p.URL, policiesapi.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tokenScope asks for a client_credentials token with scope: the status and the scope granted.
func (p *platform) tokenScope(t *testing.T, tenant string, c clientsapi.Client, scope string) (int, string) {
	t.Helper()
	cc, _ := clientsapi.NewClientWithResponses(p.URL)
	resp, err := cc.IssueTokenWithFormdataBodyWithResponse(context.Background(), tenant,
		clientsapi.IssueTokenFormdataRequestBody{GrantType: ptr("client_credentials"), Scope: &scope},
		func(_ context.Context, r *http.Request) error {
			r.SetBasicAuth(c.ClientId, *c.ClientSecret)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON200 == nil {
		return resp.StatusCode(), ""
	}
	return http.StatusOK, *resp.JSON200.Scope
}

func (p *platform) check(t *testing.T, pc *policiesapi.ClientWithResponses, subject, action, scope string) policiesapi.Decision {
	t.Helper()
	resp, err := pc.CheckWithResponse(context.Background(), "acme", nil, policiesapi.CheckRequest{Subject: subject, Action: action, Scope: scope})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("check: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

// TestMembershipChangesReachChecks is the platform's main loop: a membership changed in
// iam-subjects reaches iam-policies' checks through events only.
func TestMembershipChangesReachChecks(t *testing.T) {
	p := mustPlatform(t)
	ctx := context.Background()
	pc := p.policiesClient(t)
	user, err := p.subjects.CreateUserWithResponse(ctx, "acme", subjectsapi.UserInput{Username: ptr("ivy")})
	if err != nil || user.JSON201 == nil {
		t.Fatalf("%v %s", err, user.Body)
	}
	uid := "user-" + user.JSON201.Id
	group := func(name string) string {
		resp, err := p.subjects.CreateGroupWithResponse(ctx, "acme", subjectsapi.GroupInput{DisplayName: &name})
		if err != nil || resp.JSON201 == nil {
			t.Fatalf("%v %s", err, resp.Body)
		}
		return resp.JSON201.Id
	}
	billing, finance := group("Billing"), group("Finance")
	// Finance ⊃ Billing; the policy is on Finance, the user joins Billing.
	if resp, _ := p.subjects.AddGroupMembersWithResponse(ctx, "acme", finance, subjectsapi.MemberChange{SubjectIds: []string{"group-" + billing}}); resp.JSON200 == nil {
		t.Fatalf("nest: %s", resp.Body)
	}
	grant, err := pc.GrantPolicyWithResponse(ctx, "acme", nil, policiesapi.PolicyInput{Subject: "group-" + finance, Scope: "/subscriptions/123", Action: "invoice.read"})
	if err != nil || grant.JSON201 == nil || *grant.JSON201.ResourceType != "subscriptions" {
		t.Fatalf("grant: %v %s", err, grant.Body)
	}
	if d := p.check(t, pc, uid, "invoice.read", "/subscriptions/123/invoices/9"); d.Allowed {
		t.Fatal("allowed before the user is in any group")
	}

	start := time.Now()
	if resp, _ := p.subjects.AddGroupMembersWithResponse(ctx, "acme", billing, subjectsapi.MemberChange{SubjectIds: []string{uid}}); resp.JSON200 == nil {
		t.Fatalf("join: %s", resp.Body)
	}
	within(t, 2*time.Second, "membership reaches the check", func() bool {
		return p.check(t, pc, uid, "invoice.read", "/subscriptions/123/invoices/9").Allowed
	})
	t.Logf("membership -> check allowed in %s", time.Since(start))
	d := p.check(t, pc, uid, "invoice.read", "/subscriptions/123/invoices/9")
	if d.Via == nil || d.Via.GrantedTo != "group-"+finance || d.Via.Scope != "/subscriptions/123" {
		t.Errorf("explanation %+v", d.Via)
	}
	for _, tc := range []struct {
		action, scope string
	}{{"invoice.read", "/subscriptions/124"}, {"invoice.write", "/subscriptions/123"}, {"invoice.read", "/subscriptions"}, {"invoice.read", "/"}} {
		if p.check(t, pc, uid, tc.action, tc.scope).Allowed {
			t.Errorf("%s on %s allowed", tc.action, tc.scope)
		}
	}

	eff, err := pc.GetEffectivePoliciesWithResponse(ctx, "acme", uid, nil)
	if err != nil || eff.JSON200 == nil || len(eff.JSON200.Policies) != 1 || *eff.JSON200.Policies[0].GrantedTo != "group-"+finance {
		t.Fatalf("effective: %v %s", err, eff.Body)
	}

	// Leaving the group takes the access away again.
	if resp, _ := p.subjects.RemoveGroupMembersWithResponse(ctx, "acme", billing, subjectsapi.MemberChange{SubjectIds: []string{uid}}); resp.StatusCode() != 204 {
		t.Fatalf("leave: %s", resp.Body)
	}
	within(t, 2*time.Second, "removal reaches the check", func() bool {
		return !p.check(t, pc, uid, "invoice.read", "/subscriptions/123").Allowed
	})
}

func TestEntitledScopesFollowGroups(t *testing.T) {
	p := mustPlatform(t)
	ctx := context.Background()
	pc := p.policiesClient(t)
	c := p.mustCreateClient(t, "acme", "scoped service")
	cid := "client-" + c.ClientId
	within(t, 2*time.Second, "client subject", func() bool { s, _ := p.subjectStatus(t, "acme", c.ClientId); return s == 200 })
	g, _ := p.subjects.CreateGroupWithResponse(ctx, "acme", subjectsapi.GroupInput{DisplayName: ptr("Readers")})
	if _, err := pc.GrantPolicyWithResponse(ctx, "acme", nil, policiesapi.PolicyInput{Subject: "group-" + g.JSON201.Id, Scope: "/", Action: "iam.user_read"}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := p.subjects.AddGroupMembersWithResponse(ctx, "acme", g.JSON201.Id, subjectsapi.MemberChange{SubjectIds: []string{cid}}); resp.JSON200 == nil {
		t.Fatalf("join: %s", resp.Body)
	}
	within(t, 2*time.Second, "entitled scopes", func() bool {
		resp, err := pc.GetEffectiveScopesWithResponse(ctx, "acme", cid, nil)
		return err == nil && resp.JSON200 != nil && resp.JSON200.Scopes == "iam.user_read tenant=acme"
	})

	// The loop: membership in iam-subjects -> scope set from iam-policies -> oauth-clients'
	// next token, with no call between services and no edit of the client.
	tokenScope := func() (int, string) { return p.tokenScope(t, "acme", c, "iam.user_read") }
	within(t, 3*time.Second, "token carries the entitled scope", func() bool {
		status, scope := tokenScope()
		return status == 200 && scope == "iam.user_read"
	})
	if resp, _ := p.subjects.RemoveGroupMembersWithResponse(ctx, "acme", g.JSON201.Id, subjectsapi.MemberChange{SubjectIds: []string{cid}}); resp.StatusCode() != 204 {
		t.Fatalf("leave: %s", resp.Body)
	}
	within(t, 3*time.Second, "token narrowed again", func() bool {
		status, _ := tokenScope()
		return status == 400
	})
}

// TestConsistencyTokenReadsYourWrite: a check passing the token of a membership change
// answers as if the change were already everywhere, every time, with no polling.
func TestConsistencyTokenReadsYourWrite(t *testing.T) {
	p := mustPlatform(t)
	ctx := context.Background()
	pc := p.policiesClient(t)
	user, err := p.subjects.CreateUserWithResponse(ctx, "acme", subjectsapi.UserInput{Username: ptr("rue")})
	if err != nil || user.JSON201 == nil {
		t.Fatalf("%v %s", err, user.Body)
	}
	uid := "user-" + user.JSON201.Id
	group, err := p.subjects.CreateGroupWithResponse(ctx, "acme", subjectsapi.GroupInput{DisplayName: ptr("Auditors")})
	if err != nil || group.JSON201 == nil {
		t.Fatalf("%v %s", err, group.Body)
	}
	gid := group.JSON201.Id
	if resp, _ := pc.GrantPolicyWithResponse(ctx, "acme", nil, policiesapi.PolicyInput{Subject: "group-" + gid, Scope: "/", Action: "ledger.read"}); resp.JSON201 == nil {
		t.Fatalf("grant: %s", resp.Body)
	}
	check := func(token string) bool {
		t.Helper()
		resp, err := pc.CheckWithResponse(ctx, "acme", &policiesapi.CheckParams{ConsistencyToken: &token},
			policiesapi.CheckRequest{Subject: uid, Action: "ledger.read", Scope: "/ledgers/1"})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("check: %v %d %s", err, resp.StatusCode(), resp.Body)
		}
		return resp.JSON200.Allowed
	}
	for i := range 10 {
		add, _ := p.subjects.AddGroupMembersWithResponse(ctx, "acme", gid, subjectsapi.MemberChange{SubjectIds: []string{uid}})
		if add.JSON200 == nil || add.HTTPResponse.Header.Get("Consistency-Token") == "" {
			t.Fatalf("join: %d %s, token %q", add.StatusCode(), add.Body, add.HTTPResponse.Header.Get("Consistency-Token"))
		}
		if !check(add.HTTPResponse.Header.Get("Consistency-Token")) {
			t.Fatalf("round %d: the check with the join's token is not allowed", i)
		}
		rm, _ := p.subjects.RemoveGroupMembersWithResponse(ctx, "acme", gid, subjectsapi.MemberChange{SubjectIds: []string{uid}})
		if rm.StatusCode() != 204 {
			t.Fatalf("leave: %s", rm.Body)
		}
		if check(rm.HTTPResponse.Header.Get("Consistency-Token")) {
			t.Fatalf("round %d: the check with the leave's token is still allowed", i)
		}
	}

	bad := "not-a-token"
	resp, err := pc.CheckWithResponse(ctx, "acme", &policiesapi.CheckParams{ConsistencyToken: &bad},
		policiesapi.CheckRequest{Subject: uid, Action: "ledger.read", Scope: "/"})
	if err != nil || resp.StatusCode() != http.StatusBadRequest || !strings.Contains(string(resp.Body), "consistencyToken") {
		t.Fatalf("bad token: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	// Reads carry no token; a failed write carries none either.
	if resp, _ := p.subjects.AddGroupMembersWithResponse(ctx, "acme", gid, subjectsapi.MemberChange{SubjectIds: []string{"user-nobody"}}); resp.StatusCode() != http.StatusUnprocessableEntity || resp.HTTPResponse.Header.Get("Consistency-Token") != "" {
		t.Fatalf("failed write: %d, token %q", resp.StatusCode(), resp.HTTPResponse.Header.Get("Consistency-Token"))
	}
}

// TestEntitledScopesFollowRBACAssignments is the same loop for Emporix-style RBAC: an
// access control assigned to a client subject in iam-policies puts its scope
// (<resource code>_<permission code>) into the client's next token; removing the
// assignment takes it out again.
func TestEntitledScopesFollowRBACAssignments(t *testing.T) {
	p := mustPlatform(t)
	ctx := context.Background()
	pc := p.policiesClient(t)
	c := p.mustCreateClient(t, "acme", "rbac service")
	cid := "client-" + c.ClientId

	res, _ := pc.CreateResourceWithResponse(ctx, "acme", policiesapi.ResourceInput{Name: policiesapi.LocalizedName{"en": "Groups"}, Code: "iam.group"})
	if res.JSON201 == nil {
		t.Fatalf("resource: %s", res.Body)
	}
	perm, _ := pc.CreatePermissionWithResponse(ctx, "acme", policiesapi.PermissionInput{Name: policiesapi.LocalizedName{"en": "Read"}, Code: "read",
		ApplicableResources: policiesapi.RbacIds{res.JSON201.Id}})
	if perm.JSON201 == nil {
		t.Fatalf("permission: %s", perm.Body)
	}
	role, _ := pc.CreateRoleWithResponse(ctx, "acme", policiesapi.RoleInput{Name: policiesapi.LocalizedName{"en": "Group reader"},
		Permissions: []policiesapi.RolePermission{{Id: perm.JSON201.Id}}})
	if role.JSON201 == nil {
		t.Fatalf("role: %s", role.Body)
	}
	ac, _ := pc.CreateAccessControlWithResponse(ctx, "acme", policiesapi.AccessControlInput{Name: policiesapi.LocalizedName{"en": "Read groups"},
		RoleId: role.JSON201.Id, ResourceId: res.JSON201.Id})
	if ac.JSON201 == nil {
		t.Fatalf("access control: %s", ac.Body)
	}
	assigned, _ := pc.AssignWithResponse(ctx, "acme", nil, policiesapi.AssignmentInput{Subject: cid, AccessControlId: &ac.JSON201.Id})
	if assigned.JSON201 == nil {
		t.Fatalf("assign: %s", assigned.Body)
	}

	tokenScope := func() (int, string) { return p.tokenScope(t, "acme", c, "iam.group_read") }
	within(t, 3*time.Second, "token carries the RBAC scope", func() bool {
		status, scope := tokenScope()
		return status == 200 && scope == "iam.group_read"
	})
	if resp, _ := pc.UnassignWithResponse(ctx, "acme", assigned.JSON201.Id); resp.StatusCode() != 204 {
		t.Fatalf("unassign: %d %s", resp.StatusCode(), resp.Body)
	}
	within(t, 3*time.Second, "token narrowed again", func() bool {
		status, _ := tokenScope()
		return status == 400
	})
}
