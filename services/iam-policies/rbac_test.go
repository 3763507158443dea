package iampolicies_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"

	"github.com/iamplane/iam/services/iam-policies/api"
)

// rbacFixture is one resource (iam.group) with two permissions (read, manage) applicable
// to it and to a second resource (iam.user), a role narrowing manage to iam.user, an
// access control for the role on iam.group, and a template holding it.
type rbacFixture struct {
	group, user   api.Resource
	read, manage  api.Permission
	role          api.Role
	accessControl api.AccessControl
	template      api.Template
}

func mustRBAC(tb testing.TB, s *stack) rbacFixture {
	tb.Helper()
	ctx := context.Background()
	var f rbacFixture
	group, err := s.admin.CreateResourceWithResponse(ctx, "acme", api.ResourceInput{Name: api.LocalizedName{"en": "Groups", "de": "Gruppen"},
		Description: &api.LocalizedText{"en": "IAM groups"}, Code: "iam.group"})
	if err != nil || group.JSON201 == nil {
		tb.Fatalf("resource: %v %s", err, group.Body)
	}
	f.group = *group.JSON201
	user, _ := s.admin.CreateResourceWithResponse(ctx, "acme", api.ResourceInput{Name: api.LocalizedName{"en": "Users"}, Code: "iam.user"})
	f.user = *user.JSON201
	for _, p := range []struct {
		code string
		into *api.Permission
	}{{"read", &f.read}, {"manage", &f.manage}} {
		resp, err := s.admin.CreatePermissionWithResponse(ctx, "acme", api.PermissionInput{Name: api.LocalizedName{"en": p.code}, Code: p.code,
			ApplicableResources: api.RbacIds{f.group.Id, f.user.Id}})
		if err != nil || resp.JSON201 == nil {
			tb.Fatalf("permission: %v %s", err, resp.Body)
		}
		*p.into = *resp.JSON201
	}
	role, err := s.admin.CreateRoleWithResponse(ctx, "acme", api.RoleInput{Name: api.LocalizedName{"en": "Group admin"}, Permissions: []api.RolePermission{
		{Id: f.read.Id}, {Id: f.manage.Id, ApplicablePermissionResources: &api.RbacIds{f.user.Id}}}})
	if err != nil || role.JSON201 == nil {
		tb.Fatalf("role: %v %s", err, role.Body)
	}
	f.role = *role.JSON201
	ac, err := s.admin.CreateAccessControlWithResponse(ctx, "acme", api.AccessControlInput{Name: api.LocalizedName{"en": "Group admin on groups"},
		RoleId: f.role.Id, ResourceId: f.group.Id})
	if err != nil || ac.JSON201 == nil {
		tb.Fatalf("access control: %v %s", err, ac.Body)
	}
	f.accessControl = *ac.JSON201
	tpl, err := s.admin.CreateTemplateWithResponse(ctx, "acme", api.TemplateInput{Name: api.LocalizedName{"en": "Group administration"},
		AccessControls: api.RbacIds{f.accessControl.Id}})
	if err != nil || tpl.JSON201 == nil {
		tb.Fatalf("template: %v %s", err, tpl.Body)
	}
	f.template = *tpl.JSON201
	return f
}

// plain reads a Text that Accept-Language made a string.
func plain(tb testing.TB, x api.Text) string {
	tb.Helper()
	s, err := x.AsText0()
	if err != nil {
		tb.Fatalf("not a plain string: %v", err)
	}
	return s
}

func TestRBACCatalog(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	f := mustRBAC(t, s)

	if got := f.accessControl.Scopes; len(got) != 1 || got[0] != "iam.group_read" {
		t.Errorf("the narrowed manage permission gives nothing on iam.group: %v", got)
	}
	names, err := f.group.Name.AsLocalizedText()
	if err != nil || names["de"] != "Gruppen" {
		t.Errorf("without Accept-Language the name is the map: %v %v", names, err)
	}
	de, _ := s.admin.GetResourceWithResponse(ctx, "acme", f.group.Id, &api.GetResourceParams{AcceptLanguage: ptr("de-CH, en;q=0.5")})
	if de.JSON200 == nil || plain(t, de.JSON200.Name) != "Gruppen" || plain(t, *de.JSON200.Description) != "IAM groups" {
		t.Fatalf("localized: %s", de.Body)
	}
	if de.HTTPResponse.Header.Get("ETag") != `"1"` {
		t.Errorf("etag %q", de.HTTPResponse.Header.Get("ETag"))
	}
	expanded, _ := s.admin.GetAccessControlWithResponse(ctx, "acme", f.accessControl.Id, &api.GetAccessControlParams{Expand: &[]string{"role", "resource"}})
	if expanded.JSON200 == nil || expanded.JSON200.Role == nil || expanded.JSON200.Resource == nil || expanded.JSON200.Resource.Code != "iam.group" {
		t.Errorf("expand: %s", expanded.Body)
	}
	tpl, _ := s.admin.GetTemplateWithResponse(ctx, "acme", f.template.Id, &api.GetTemplateParams{Expand: &[]string{"accessControls"}})
	if tpl.JSON200 == nil || tpl.JSON200.AccessControlDetails == nil || (*tpl.JSON200.AccessControlDetails)[0].Id != f.accessControl.Id {
		t.Errorf("template expand: %s", tpl.Body)
	}

	t.Run("list filters", func(t *testing.T) {
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		today, tomorrow := time.Now().UTC().Format(time.DateOnly), time.Now().UTC().Add(24*time.Hour).Format(time.DateOnly)
		for _, tc := range []struct {
			name   string
			params api.ListResourcesParams
			want   int32
		}{
			{"all", api.ListResourcesParams{}, 2},
			{"name in any language", api.ListResourcesParams{Name: ptr("grupp")}, 1},
			{"description", api.ListResourcesParams{Description: ptr("iam gr")}, 1},
			{"modified since the future", api.ListResourcesParams{MetadataModifiedAt: &future}, 0},
			{"modified since a date (Emporix's form)", api.ListResourcesParams{MetadataModifiedAt: &today}, 2},
			{"modified since tomorrow's date", api.ListResourcesParams{MetadataModifiedAt: &tomorrow}, 0},
			{"like metacharacters are literal", api.ListResourcesParams{Name: ptr("%")}, 0},
		} {
			resp, _ := s.admin.ListResourcesWithResponse(ctx, "acme", &tc.params)
			if resp.JSON200 == nil || resp.JSON200.Total != tc.want {
				t.Errorf("%s: %s", tc.name, resp.Body)
			}
		}
		for value, status := range map[string]int{"2026-13-45": 422, "yesterday": 400} {
			if resp, _ := s.admin.ListResourcesWithResponse(ctx, "acme", &api.ListResourcesParams{MetadataModifiedAt: &value}); resp.StatusCode() != status || !strings.Contains(string(resp.Body), "metadataModifiedAt") {
				t.Errorf("metadataModifiedAt=%s: %d %s, want %d", value, resp.StatusCode(), resp.Body, status)
			}
		}
		roles, _ := s.admin.ListRolesWithResponse(ctx, "acme", &api.ListRolesParams{AcceptLanguage: ptr("en")})
		if roles.JSON200 == nil || roles.JSON200.Total != 1 || plain(t, roles.JSON200.Data[0].Name) != "Group admin" {
			t.Errorf("roles: %s", roles.Body)
		}
		acs, _ := s.admin.ListAccessControlsWithResponse(ctx, "acme", &api.ListAccessControlsParams{ResourceId: ptr(f.user.Id)})
		if acs.JSON200 == nil || acs.JSON200.Total != 0 {
			t.Errorf("access controls by resource: %s", acs.Body)
		}
	})

	t.Run("optimistic locking", func(t *testing.T) {
		in := api.PermissionInput{Name: api.LocalizedName{"en": "Read"}, Code: "read", ApplicableResources: api.RbacIds{f.group.Id, f.user.Id}}
		for _, tc := range []struct {
			name    string
			meta    *api.MetadataInput
			ifMatch string
			want    int
		}{
			{"stale version", &api.MetadataInput{Version: 7}, "", 409},
			{"if-match mismatch", nil, `"7"`, 412},
			{"no version at all", nil, "", 422},
			{"current version", &api.MetadataInput{Version: 1}, "", 200},
			{"current if-match", nil, `"2"`, 200},
		} {
			in.Metadata = tc.meta
			params := &api.UpdatePermissionParams{}
			if tc.ifMatch != "" {
				params.IfMatch = &tc.ifMatch
			}
			resp, _ := s.admin.UpdatePermissionWithResponse(ctx, "acme", f.read.Id, params, in)
			if resp.StatusCode() != tc.want {
				t.Errorf("%s: %d %s", tc.name, resp.StatusCode(), resp.Body)
			}
		}
		got, _ := s.admin.GetPermissionWithResponse(ctx, "acme", f.read.Id, nil)
		if got.JSON200.Metadata.Version != 3 {
			t.Errorf("version after two updates: %d", got.JSON200.Metadata.Version)
		}
	})

	t.Run("rules", func(t *testing.T) {
		root := s.as(t, s.Issuer.Token(t, "system", "client-root", "services.iam"))
		for _, tc := range []struct {
			name    string
			do      func() (int, []byte)
			status  int
			mention string
		}{
			{"role with an unknown permission", func() (int, []byte) {
				r, _ := s.admin.CreateRoleWithResponse(ctx, "acme", api.RoleInput{Name: api.LocalizedName{"en": "x"}, Permissions: []api.RolePermission{{Id: "nope"}}})
				return r.StatusCode(), r.Body
			}, 422, "nope"},
			{"role narrowing outside the permission", func() (int, []byte) {
				r, _ := s.admin.CreateRoleWithResponse(ctx, "acme", api.RoleInput{Name: api.LocalizedName{"en": "x"},
					Permissions: []api.RolePermission{{Id: f.read.Id, ApplicablePermissionResources: &api.RbacIds{"elsewhere"}}}})
				return r.StatusCode(), r.Body
			}, 422, "elsewhere"},
			{"permission on an unknown resource", func() (int, []byte) {
				r, _ := s.admin.CreatePermissionWithResponse(ctx, "acme", api.PermissionInput{Name: api.LocalizedName{"en": "x"}, Code: "x", ApplicableResources: api.RbacIds{"ghost"}})
				return r.StatusCode(), r.Body
			}, 422, "ghost"},
			{"access control with unknown role and resource", func() (int, []byte) {
				r, _ := s.admin.CreateAccessControlWithResponse(ctx, "acme", api.AccessControlInput{Name: api.LocalizedName{"en": "x"}, RoleId: "r0", ResourceId: "s0"})
				return r.StatusCode(), r.Body
			}, 422, "s0"},
			{"template with an unknown access control", func() (int, []byte) {
				r, _ := s.admin.CreateTemplateWithResponse(ctx, "acme", api.TemplateInput{Name: api.LocalizedName{"en": "x"}, AccessControls: api.RbacIds{"ac0"}})
				return r.StatusCode(), r.Body
			}, 422, "ac0"},
			{"blank name", func() (int, []byte) {
				r, _ := s.admin.CreateResourceWithResponse(ctx, "acme", api.ResourceInput{Name: api.LocalizedName{"en": " "}, Code: "x"})
				return r.StatusCode(), r.Body
			}, 422, "name.en"},
			{"empty name map", func() (int, []byte) {
				r, _ := s.admin.CreateResourceWithResponse(ctx, "acme", api.ResourceInput{Name: api.LocalizedName{}, Code: "x"})
				return r.StatusCode(), r.Body
			}, 400, "name"},
			{"resource code taken", func() (int, []byte) {
				r, _ := s.admin.CreateResourceWithResponse(ctx, "acme", api.ResourceInput{Name: api.LocalizedName{"en": "x"}, Code: "iam.group"})
				return r.StatusCode(), r.Body
			}, 409, "iam.group"},
			{"delete a permission a role has", func() (int, []byte) {
				r, _ := s.admin.DeletePermissionWithResponse(ctx, "acme", f.manage.Id)
				return r.StatusCode(), r.Body
			}, 409, f.role.Id},
			{"drop a resource a role narrows to", func() (int, []byte) {
				r, _ := s.admin.UpdatePermissionWithResponse(ctx, "acme", f.manage.Id, nil, api.PermissionInput{Name: api.LocalizedName{"en": "m"}, Code: "manage",
					ApplicableResources: api.RbacIds{f.group.Id}, Metadata: &api.MetadataInput{Version: 1}})
				return r.StatusCode(), r.Body
			}, 409, f.role.Id},
			{"delete a resource in use", func() (int, []byte) {
				r, _ := s.admin.DeleteResourceWithResponse(ctx, "acme", f.group.Id)
				return r.StatusCode(), r.Body
			}, 409, f.accessControl.Id},
			{"delete a role in use", func() (int, []byte) {
				r, _ := s.admin.DeleteRoleWithResponse(ctx, "acme", f.role.Id)
				return r.StatusCode(), r.Body
			}, 409, f.accessControl.Id},
			{"delete an access control in a template", func() (int, []byte) {
				r, _ := s.admin.DeleteAccessControlWithResponse(ctx, "acme", f.accessControl.Id)
				return r.StatusCode(), r.Body
			}, 409, f.template.Id},
			{"get a missing role", func() (int, []byte) {
				r, _ := s.admin.GetRoleWithResponse(ctx, "acme", "missing", nil)
				return r.StatusCode(), r.Body
			}, 404, "missing"},
			{"update a missing template", func() (int, []byte) {
				r, _ := s.admin.UpdateTemplateWithResponse(ctx, "acme", "missing", nil, api.TemplateInput{Name: api.LocalizedName{"en": "x"}, AccessControls: api.RbacIds{}, Metadata: &api.MetadataInput{Version: 1}})
				return r.StatusCode(), r.Body
			}, 404, "missing"},
			{"another tenant's id, asked by a platform admin", func() (int, []byte) {
				r, _ := root.GetResourceWithResponse(ctx, "globex", f.group.Id, nil)
				return r.StatusCode(), r.Body
			}, 404, f.group.Id},
			{"assign nothing", func() (int, []byte) {
				r, _ := s.admin.AssignWithResponse(ctx, "acme", nil, api.AssignmentInput{Subject: "user-u1"})
				return r.StatusCode(), r.Body
			}, 422, "accessControlId"},
			{"assign an unknown template", func() (int, []byte) {
				r, _ := s.admin.AssignWithResponse(ctx, "acme", nil, api.AssignmentInput{Subject: "user-u1", TemplateId: ptr("t0")})
				return r.StatusCode(), r.Body
			}, 422, "t0"},
			{"remove a missing assignment", func() (int, []byte) {
				r, _ := s.admin.UnassignWithResponse(ctx, "acme", "a0")
				return r.StatusCode(), r.Body
			}, 404, "a0"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := tc.do()
				if status != tc.status || !strings.Contains(string(body), tc.mention) {
					t.Errorf("%d %s (want %d naming %q)", status, body, tc.status, tc.mention)
				}
			})
		}
	})

	t.Run("delete once unreferenced", func(t *testing.T) {
		a, _ := s.admin.AssignWithResponse(ctx, "acme", nil, api.AssignmentInput{Subject: "user-u9", TemplateId: &f.template.Id})
		if a.JSON201 == nil {
			t.Fatalf("assign: %s", a.Body)
		}
		if r, _ := s.admin.DeleteTemplateWithResponse(ctx, "acme", f.template.Id); r.StatusCode() != 409 || !strings.Contains(string(r.Body), a.JSON201.Id) {
			t.Errorf("delete an assigned template: %d %s", r.StatusCode(), r.Body)
		}
		for name, status := range map[string]int{
			"unassign":       statusOf(s.admin.UnassignWithResponse(ctx, "acme", a.JSON201.Id)),
			"template":       statusOf(s.admin.DeleteTemplateWithResponse(ctx, "acme", f.template.Id)),
			"access control": statusOf(s.admin.DeleteAccessControlWithResponse(ctx, "acme", f.accessControl.Id)),
			"role":           statusOf(s.admin.DeleteRoleWithResponse(ctx, "acme", f.role.Id)),
			"permission":     statusOf(s.admin.DeletePermissionWithResponse(ctx, "acme", f.manage.Id)),
		} {
			if status != 204 {
				t.Errorf("%s: %d", name, status)
			}
		}
	})

	t.Run("scopes and tenants", func(t *testing.T) {
		reader := s.as(t, s.Issuer.Token(t, "acme", "client-r", "iam.role_read"))
		if resp, _ := reader.ListRolesWithResponse(ctx, "acme", nil); resp.StatusCode() != 200 {
			t.Errorf("iam.role_read may list roles: %d", resp.StatusCode())
		}
		if resp, _ := reader.CreateRoleWithResponse(ctx, "acme", api.RoleInput{Name: api.LocalizedName{"en": "x"}, Permissions: []api.RolePermission{}}); resp.StatusCode() != 403 {
			t.Errorf("iam.role_read may not create roles: %d", resp.StatusCode())
		}
		if resp, _ := reader.ListResourcesWithResponse(ctx, "acme", nil); resp.StatusCode() != 403 {
			t.Errorf("iam.role_read may not list resources: %d", resp.StatusCode())
		}
		if resp, _ := reader.AssignWithResponse(ctx, "acme", nil, api.AssignmentInput{Subject: "user-u1", AccessControlId: ptr("x")}); resp.StatusCode() != 403 {
			t.Errorf("iam.role_read may not assign: %d", resp.StatusCode())
		}
		other := s.as(t, s.Issuer.Token(t, "globex", "client-c", "services.iam"))
		if resp, _ := other.ListRolesWithResponse(ctx, "acme", nil); resp.StatusCode() != 403 {
			t.Errorf("another tenant's token: %d", resp.StatusCode())
		}
	})
}

func statusOf[R interface{ StatusCode() int }](r R, err error) int {
	if err != nil {
		return 0
	}
	return r.StatusCode()
}

// TestRBACEffectiveThroughNestedGroups assigns a template to a group two levels above a
// user and an access control straight to a client, and reads what each ends up with.
func TestRBACEffectiveThroughNestedGroups(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	f := mustRBAC(t, s)
	s.grant(t, "group-top", "/", "iam.policy_read") // a policy scope stays in the set

	first, _ := s.admin.AssignWithResponse(ctx, "acme", nil, api.AssignmentInput{Subject: "group-top", TemplateId: &f.template.Id})
	again, _ := s.admin.AssignWithResponse(ctx, "acme", nil, api.AssignmentInput{Subject: "group-top", TemplateId: &f.template.Id})
	if first.JSON201 == nil || again.JSON200 == nil || again.JSON200.Id != first.JSON201.Id {
		t.Fatalf("assign twice: %s / %d %s", first.Body, again.StatusCode(), again.Body)
	}
	s.membership(t, "top", "group-mid", false)
	s.membership(t, "mid", "user-u1", false)

	scopesOf := func(subject string) string {
		resp, err := s.admin.GetEffectiveScopesWithResponse(ctx, "acme", subject, nil)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("scopes: %v %s", err, resp.Body)
		}
		return resp.JSON200.Scopes
	}
	within(t, 5*time.Second, "membership applied", func() bool {
		return scopesOf("user-u1") == "iam.group_read iam.policy_read tenant=acme"
	})

	acs, _ := s.admin.GetEffectiveAccessControlsWithResponse(ctx, "acme", "user-u1", &api.GetEffectiveAccessControlsParams{Expand: &[]string{"resource"}, AcceptLanguage: ptr("de")})
	if acs.JSON200 == nil || acs.JSON200.Total != 1 || acs.JSON200.Data[0].Resource == nil || plain(t, acs.JSON200.Data[0].Resource.Name) != "Gruppen" {
		t.Errorf("effective access controls: %s", acs.Body)
	}
	onUser, _ := s.admin.GetEffectiveAccessControlsForResourceWithResponse(ctx, "acme", "user-u1", f.user.Id, nil)
	if onUser.JSON200 == nil || onUser.JSON200.Total != 0 {
		t.Errorf("effective access controls on iam.user: %s", onUser.Body)
	}
	if resp, _ := s.admin.GetEffectiveAccessControlsForResourceWithResponse(ctx, "acme", "user-u1", "missing", nil); resp.StatusCode() != 404 {
		t.Errorf("unknown resource: %d", resp.StatusCode())
	}
	me := s.as(t, s.Issuer.Token(t, "acme", "user-u1", "iam.permission_read"))
	perms, _ := me.GetEffectivePermissionsWithResponse(ctx, "acme", "me", f.group.Id, nil)
	if perms.JSON200 == nil || perms.JSON200.SubjectId != "user-u1" || len(perms.JSON200.Permissions) != 1 || perms.JSON200.Permissions[0].Code != "read" {
		t.Errorf("effective permissions: %s", perms.Body)
	}
	if resp, _ := me.GetEffectiveAccessControlsWithResponse(ctx, "acme", "me", nil); resp.StatusCode() != 403 {
		t.Errorf("iam.permission_read may not read access controls: %d", resp.StatusCode())
	}

	// A client assigned the access control directly: its entitled set is published.
	sets := s.scopeSets(t)
	if a, _ := s.admin.AssignWithResponse(ctx, "acme", nil, api.AssignmentInput{Subject: "client-c1", AccessControlId: &f.accessControl.Id}); a.JSON201 == nil {
		t.Fatalf("assign: %s", a.Body)
	}
	sets.await(t, "client-c1", "iam.group_read")

	// Widening the role changes the scopes of everyone assigned, in the same transaction.
	upd, _ := s.admin.UpdateRoleWithResponse(ctx, "acme", f.role.Id, nil, api.RoleInput{Name: api.LocalizedName{"en": "Group admin"},
		Permissions: []api.RolePermission{{Id: f.read.Id}, {Id: f.manage.Id}}, Metadata: &api.MetadataInput{Version: 1}})
	if upd.JSON200 == nil {
		t.Fatalf("update role: %s", upd.Body)
	}
	sets.await(t, "client-c1", "iam.group_manage iam.group_read")
	sets.await(t, "user-u1", "iam.group_manage iam.group_read iam.policy_read")
	if got := scopesOf("user-u1"); got != "iam.group_manage iam.group_read iam.policy_read tenant=acme" {
		t.Errorf("after widening: %q", got)
	}

	// Renaming the resource code renames the scopes; leaving the group takes them away.
	res, _ := s.admin.UpdateResourceWithResponse(ctx, "acme", f.group.Id, &api.UpdateResourceParams{IfMatch: ptr(`"1"`)},
		api.ResourceInput{Name: api.LocalizedName{"en": "Groups"}, Code: "iam.team"})
	if res.JSON200 == nil {
		t.Fatalf("rename: %s", res.Body)
	}
	sets.await(t, "client-c1", "iam.team_manage iam.team_read")
	s.membership(t, "mid", "user-u1", true)
	sets.await(t, "user-u1", "")
	list, _ := s.admin.ListAssignmentsWithResponse(ctx, "acme", &api.ListAssignmentsParams{Subject: ptr("client-c1")})
	if list.JSON200 == nil || list.JSON200.Total != 1 || *list.JSON200.Data[0].AccessControlId != f.accessControl.Id {
		t.Errorf("assignments of client-c1: %s", list.Body)
	}
}

// scopeSetWatch follows the published ScopeSetState events.
type scopeSetWatch struct {
	latest   map[string]string
	consumer jetstream.Consumer
}

func (s *stack) scopeSets(tb testing.TB) *scopeSetWatch {
	tb.Helper()
	var cons jetstream.Consumer
	within(tb, 5*time.Second, "the service has made the stream", func() bool {
		var err error
		cons, err = s.JetStream.OrderedConsumer(context.Background(), "IAM", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"iam.acme.policies.scopes.>"}})
		return err == nil
	})
	return &scopeSetWatch{latest: map[string]string{}, consumer: cons}
}

// await reads events until subject's latest published set is want (space-separated).
func (w *scopeSetWatch) await(tb testing.TB, subject, want string) {
	tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); w.latest[subject] != want; {
		if time.Now().After(deadline) {
			tb.Fatalf("scope set of %s: %q, want %q", subject, w.latest[subject], want)
		}
		batch, err := w.consumer.Fetch(10, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			continue
		}
		for msg := range batch.Messages() {
			var ev events.Envelope
			var set schema.ScopeSetState
			if json.Unmarshal(msg.Data(), &ev) == nil && json.Unmarshal(ev.Data, &set) == nil {
				w.latest[set.Subject] = strings.Join(set.Scopes, " ")
			}
		}
	}
}
