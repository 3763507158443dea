package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

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
