package iamsubjects_test

import (
	"context"
	"slices"
	"testing"

	"github.com/iamplane/iam/pkg/events"

	"github.com/iamplane/iam/services/iam-subjects/api"
)

func TestUserLifecycle(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	admins, ops := s.mustGroup(t, "Admins"), s.mustGroup(t, "Operators")
	u := s.mustUser(t, "alice", admins.Id)
	if u.Metadata.Version != 1 || !slices.Equal(u.GroupIds, []string{admins.Id}) || *u.SubjectId != "user-"+u.Id {
		t.Fatalf("created %+v", u)
	}

	t.Run("username and email are unique per tenant, case-insensitively", func(t *testing.T) {
		resp, _ := s.admin.CreateUserWithResponse(ctx, "acme", api.UserInput{Username: ptr("ALICE")})
		if resp.StatusCode() != 409 {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
		other := s.as(t, s.Issuer.Token(t, "globex", "client-admin", "services.iam"))
		if resp, _ := other.CreateUserWithResponse(ctx, "globex", api.UserInput{Username: ptr("alice")}); resp.StatusCode() != 201 {
			t.Fatalf("same username in another tenant: %d %s", resp.StatusCode(), resp.Body)
		}
		e1, _ := s.admin.CreateUserWithResponse(ctx, "acme", api.UserInput{Email: ptr(apiEmail("Bob@Example.com"))})
		e2, _ := s.admin.CreateUserWithResponse(ctx, "acme", api.UserInput{Email: ptr(apiEmail("bob@example.com"))})
		if e1.StatusCode() != 201 || e2.StatusCode() != 409 {
			t.Fatalf("email uniqueness: %d %d", e1.StatusCode(), e2.StatusCode())
		}
	})

	t.Run("get with expand=groups", func(t *testing.T) {
		resp, err := s.admin.GetUserWithResponse(ctx, "acme", uuid(t, u.Id), &api.GetUserParams{Expand: ptr(api.GetUserParamsExpandGroups)})
		if err != nil || resp.JSON200 == nil || resp.JSON200.Groups == nil || (*resp.JSON200.Groups)[0].DisplayName != "Admins" {
			t.Fatalf("%v %s", err, resp.Body)
		}
	})

	t.Run("PUT replaces the group assignments atomically", func(t *testing.T) {
		resp, err := s.admin.ReplaceUserWithResponse(ctx, "acme", uuid(t, u.Id), nil, api.UserInput{Username: ptr("alice"),
			Department: ptr("Ops"), GroupIds: &[]string{ops.Id}, Metadata: &api.MetadataInput{Version: 1}})
		if err != nil || resp.JSON200 == nil || !slices.Equal(resp.JSON200.GroupIds, []string{ops.Id}) || resp.JSON200.Metadata.Version != 2 {
			t.Fatalf("%v %s", err, resp.Body)
		}
		if got := s.members(t, admins.Id, false); len(got) != 0 {
			t.Errorf("still in Admins: %v", got)
		}
		// An unknown group fails the whole change: the user and its groups stay as they were.
		bad, _ := s.admin.ReplaceUserWithResponse(ctx, "acme", uuid(t, u.Id), nil, api.UserInput{Username: ptr("alice"),
			Department: ptr("changed"), GroupIds: &[]string{admins.Id, "no-such-group"}, Metadata: &api.MetadataInput{Version: 2}})
		if bad.StatusCode() != 422 {
			t.Fatalf("%d %s", bad.StatusCode(), bad.Body)
		}
		now, _ := s.admin.GetUserWithResponse(ctx, "acme", uuid(t, u.Id), nil)
		if *now.JSON200.Department != "Ops" || !slices.Equal(now.JSON200.GroupIds, []string{ops.Id}) || now.JSON200.Metadata.Version != 2 {
			t.Errorf("partial write: %s", now.Body)
		}
	})

	t.Run("stale versions are refused", func(t *testing.T) {
		stale, _ := s.admin.ReplaceUserWithResponse(ctx, "acme", uuid(t, u.Id), nil, api.UserInput{Username: ptr("alice"), Metadata: &api.MetadataInput{Version: 1}})
		ifMatch, _ := s.admin.ReplaceUserWithResponse(ctx, "acme", uuid(t, u.Id), &api.ReplaceUserParams{IfMatch: ptr(`"1"`)}, api.UserInput{Username: ptr("alice")})
		if stale.StatusCode() != 409 || ifMatch.StatusCode() != 412 {
			t.Fatalf("stale %d, If-Match %d", stale.StatusCode(), ifMatch.StatusCode())
		}
	})

	t.Run("list searches names, usernames and emails and filters by type", func(t *testing.T) {
		s.mustUser(t, "carol")
		_, _ = s.admin.CreateUserWithResponse(ctx, "acme", api.UserInput{Username: ptr("dave"), UserType: ptr(api.CUSTOMER)})
		resp, err := s.admin.ListUsersWithResponse(ctx, "acme", &api.ListUsersParams{SearchQuery: ptr("ALI"), Expand: ptr(api.ListUsersParamsExpandGroups)})
		if err != nil || resp.JSON200 == nil || resp.JSON200.Total != 1 || *resp.JSON200.Data[0].Username != "alice" || len(*resp.JSON200.Data[0].Groups) != 1 {
			t.Fatalf("%v %s", err, resp.Body)
		}
		customers, _ := s.admin.ListUsersWithResponse(ctx, "acme", &api.ListUsersParams{UserType: ptr(api.CUSTOMER)})
		if customers.JSON200.Total != 1 || *customers.JSON200.Data[0].Username != "dave" {
			t.Fatalf("customers: %s", customers.Body)
		}
	})

	t.Run("a user in groups is deleted only with forceDelete", func(t *testing.T) {
		refused, _ := s.admin.DeleteUserWithResponse(ctx, "acme", uuid(t, u.Id), nil)
		if refused.StatusCode() != 409 {
			t.Fatalf("%d %s", refused.StatusCode(), refused.Body)
		}
		forced, _ := s.admin.DeleteUserWithResponse(ctx, "acme", uuid(t, u.Id), &api.DeleteUserParams{ForceDelete: ptr(true)})
		if forced.StatusCode() != 204 {
			t.Fatalf("%d %s", forced.StatusCode(), forced.Body)
		}
		if got := s.members(t, ops.Id, false); len(got) != 0 {
			t.Errorf("memberships survived: %v", got)
		}
		gone, _ := s.admin.GetSubjectWithResponse(ctx, "acme", "user-"+u.Id)
		if gone.StatusCode() != 404 {
			t.Errorf("subject survived: %d", gone.StatusCode())
		}
		ev := s.published(t, "iam.acme.subjects.user."+u.Id, func(ev events.Envelope) bool { return ev.Deleted })
		if ev.Tenant != "acme" {
			t.Errorf("tombstone %+v", ev)
		}
	})
}

func TestScopesAndTenants(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		token  string
		status int
	}{
		{"no token", "", 401},
		{"read scope", s.Issuer.Token(t, "acme", "client-x", "iam.user_read"), 200},
		{"wrong scope", s.Issuer.Token(t, "acme", "client-x", "iam.group_read"), 403},
		{"another tenant's token", s.Issuer.Token(t, "globex", "client-x", "services.iam"), 403},
		{"platform admin", s.Issuer.Token(t, "system", "client-root", "services.iam"), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := s.as(t, tc.token).ListUsersWithResponse(ctx, "acme", nil)
			if err != nil || resp.StatusCode() != tc.status {
				t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
			}
		})
	}
	// Creating needs iam.user_create, not iam.user_read.
	reader := s.as(t, s.Issuer.Token(t, "acme", "client-x", "iam.user_read"))
	if resp, _ := reader.CreateUserWithResponse(ctx, "acme", api.UserInput{Username: ptr("x")}); resp.StatusCode() != 403 {
		t.Fatalf("%d", resp.StatusCode())
	}
	creator := s.as(t, s.Issuer.Token(t, "acme", "client-x", "iam.user_create"))
	if resp, _ := creator.CreateUserWithResponse(ctx, "acme", api.UserInput{Username: ptr("x")}); resp.StatusCode() != 201 {
		t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
	}
}
