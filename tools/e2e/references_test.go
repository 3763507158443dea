package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/events"

	policiesapi "github.com/iamplane/iam/services/iam-policies/api"
	subjectsapi "github.com/iamplane/iam/services/iam-subjects/api"
)

// TestReferenceToANewSubjectWaitsForItsToken is the create-then-reference race, 100
// times: a group created in iam-subjects a moment ago, with a user added to it, is named
// by a policy in iam-policies at once, passing the membership write's consistency token.
// The policy write waits for iam-policies to have seen the membership, so it is never
// refused, and a check right after it (without a token) already finds the user allowed
// through the new group: had the write not waited, the check could run before the
// membership reached iam-policies.
func TestReferenceToANewSubjectWaitsForItsToken(t *testing.T) {
	p := mustPlatform(t)
	ctx := context.Background()
	pc := p.policiesClient(t)
	user, err := p.subjects.CreateUserWithResponse(ctx, "acme", subjectsapi.UserInput{Username: ptr("rita")})
	if err != nil || user.JSON201 == nil {
		t.Fatalf("user: %v %s", err, user.Body)
	}
	uid := "user-" + user.JSON201.Id
	for i := range 100 {
		name := fmt.Sprintf("race-%d", i)
		g, err := p.subjects.CreateGroupWithResponse(ctx, "acme", subjectsapi.GroupInput{DisplayName: &name})
		if err != nil || g.JSON201 == nil {
			t.Fatalf("group %d: %v %s", i, err, g.Body)
		}
		gid := "group-" + g.JSON201.Id
		added, err := p.subjects.AddGroupMembersWithResponse(ctx, "acme", g.JSON201.Id, subjectsapi.MemberChange{SubjectIds: []string{uid}})
		if err != nil || added.JSON200 == nil {
			t.Fatalf("member %d: %v %s", i, err, added.Body)
		}
		token := added.HTTPResponse.Header.Get(events.TokenHeader)
		if token == "" {
			t.Fatalf("member %d: no %s header", i, events.TokenHeader)
		}
		action := "race.run" + fmt.Sprint(i)
		grant, err := pc.GrantPolicyWithResponse(ctx, "acme", &policiesapi.GrantPolicyParams{ConsistencyToken: &token},
			policiesapi.PolicyInput{Subject: gid, Scope: "/", Action: action})
		if err != nil || grant.JSON201 == nil {
			t.Fatalf("policy %d naming %s: %v %d %s", i, gid, err, grant.StatusCode(), grant.Body)
		}
		if d := p.check(t, pc, uid, action, "/"); !d.Allowed {
			t.Fatalf("policy %d: the user is not yet allowed through %s right after the write that waited for the membership", i, gid)
		}
	}
}

// TestEmporixPathsReachIAMPolicies: the gateway routes iam-policies' part of the Emporix
// dialect, also below iam-subjects' /iam/{tenant}/users and /groups.
func TestEmporixPathsReachIAMPolicies(t *testing.T) {
	p := mustPlatform(t)
	token := mustToken(t, p.URL, "system", adminID, adminSecret)
	for _, path := range []string{"/iam/acme/roles?pageSize=5", "/iam/acme/access-controls", "/iam/acme/users/u1/access-controls",
		"/iam/acme/users/u1/scopes", "/iam/acme/groups/g1/access-controls", "/iam/acme/templates?sort=name:desc"} {
		req, _ := http.NewRequest(http.MethodGet, p.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %v", path, resp.StatusCode, body)
		}
	}
}

// TestEmporixGroupAccessControlsReachItsMembers is issue 16's Emporix loop through the
// real services: a group created in iam-subjects' Emporix dialect naming an access control
// of iam-policies gives its members that access control's scopes (iam-policies derives the
// group's assignment from the group event); the group dropping it takes them away.
func TestEmporixGroupAccessControlsReachItsMembers(t *testing.T) {
	p := mustPlatform(t)
	ctx := context.Background()
	pc := p.policiesClient(t)
	token := mustToken(t, p.URL, "system", adminID, adminSecret)
	send := func(method, path string, body any) (int, map[string]any) {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, p.URL+path, strings.NewReader(string(raw)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	res, _ := pc.CreateResourceWithResponse(ctx, "acme", policiesapi.ResourceInput{Name: policiesapi.LocalizedName{"en": "Orders"}, Code: "order.order"})
	perm, _ := pc.CreatePermissionWithResponse(ctx, "acme", policiesapi.PermissionInput{Name: policiesapi.LocalizedName{"en": "Read"}, Code: "read",
		ApplicableResources: policiesapi.RbacIds{res.JSON201.Id}})
	role, _ := pc.CreateRoleWithResponse(ctx, "acme", policiesapi.RoleInput{Name: policiesapi.LocalizedName{"en": "Reader"},
		Permissions: []policiesapi.RolePermission{{Id: perm.JSON201.Id}}})
	ac, err := pc.CreateAccessControlWithResponse(ctx, "acme", policiesapi.AccessControlInput{Name: policiesapi.LocalizedName{"en": "Read orders"},
		RoleId: role.JSON201.Id, ResourceId: res.JSON201.Id})
	if err != nil || ac.JSON201 == nil {
		t.Fatalf("access control: %v %s", err, ac.Body)
	}
	status, group := send(http.MethodPost, "/iam/acme/groups", map[string]any{"name": map[string]string{"en": "Order readers"},
		"accessControls": []string{ac.JSON201.Id}})
	if status != http.StatusCreated {
		t.Fatalf("Emporix group: %d %v", status, group)
	}
	gid := group["id"].(string)
	user, err := p.subjects.CreateUserWithResponse(ctx, "acme", subjectsapi.UserInput{Username: ptr("olga")})
	if err != nil || user.JSON201 == nil {
		t.Fatalf("user: %v %s", err, user.Body)
	}
	if r, _ := p.subjects.AddGroupMembersWithResponse(ctx, "acme", gid, subjectsapi.MemberChange{SubjectIds: []string{"user-" + user.JSON201.Id}}); r.StatusCode() != http.StatusOK {
		t.Fatalf("member: %d %s", r.StatusCode(), r.Body)
	}
	scopes := func() string {
		_, out := send(http.MethodGet, "/iam/acme/users/"+user.JSON201.Id+"/scopes", nil)
		return fmt.Sprint(out["scopes"])
	}
	within(t, 5*time.Second, "the member gets order.order_read", func() bool { return strings.Contains(scopes(), "order.order_read") })
	if status, out := send(http.MethodPut, "/iam/acme/groups/"+gid, map[string]any{"name": map[string]string{"en": "Order readers"},
		"accessControls": []string{}}); status >= 300 {
		t.Fatalf("Emporix group update: %d %v", status, out)
	}
	within(t, 5*time.Second, "the member loses order.order_read", func() bool { return !strings.Contains(scopes(), "order.order_read") })
}
