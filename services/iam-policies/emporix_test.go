package iampolicies_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/iamplane/iam/services/iam-policies/api"
)

// emporixCase is one request of the Emporix IAM document (seed 004) for an operation
// iam-policies serves, with its documented answer: the request as the seed's curl
// example sends it (placeholders such as `resourceId=string` filled with real values:
// `{roleId}` and the like are the fixture's ids), the documented status and body.
type emporixCase struct {
	Seed    string            `json:"seed"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Status  int               `json:"status"`
	Body    any               `json:"body"`
	// Differs names the places where the answer knowingly differs from the documented
	// example, and why (README, "Emporix IAM").
	Differs map[string]string `json:"differs"`
}

// emporixFixture is an RBAC catalog shaped like the seed's examples: a resource, a
// permission on it, a role with the permission, an access control and a template; the
// access control assigned to a group, the template to a user who is also in the group.
type emporixFixture struct {
	ids map[string]string
}

func mustEmporixFixture(tb testing.TB, s *stack) emporixFixture {
	tb.Helper()
	ctx := context.Background()
	res, err := s.admin.CreateResourceWithResponse(ctx, "acme", api.ResourceInput{Name: api.LocalizedName{"en": "Example name", "de": "Beispielname"},
		Description: &api.LocalizedText{"en": "Example resource description", "de": "Beispiel Domainbeschreibung"}, Code: "serviceName.resource"})
	if err != nil || res.JSON201 == nil {
		tb.Fatalf("resource: %v %s", err, res.Body)
	}
	perm, err := s.admin.CreatePermissionWithResponse(ctx, "acme", api.PermissionInput{Name: api.LocalizedName{"en": "Example name", "de": "Beispielname"},
		Description: &api.LocalizedText{"en": "Example permission description"}, Code: "read", ApplicableResources: api.RbacIds{res.JSON201.Id}})
	if err != nil || perm.JSON201 == nil {
		tb.Fatalf("permission: %v %s", err, perm.Body)
	}
	role, err := s.admin.CreateRoleWithResponse(ctx, "acme", api.RoleInput{Name: api.LocalizedName{"en": "Example name", "de": "Beispielname"},
		Description: &api.LocalizedText{"en": "Example role description"},
		Permissions: []api.RolePermission{{Id: perm.JSON201.Id, ApplicablePermissionResources: &api.RbacIds{res.JSON201.Id}}}})
	if err != nil || role.JSON201 == nil {
		tb.Fatalf("role: %v %s", err, role.Body)
	}
	ac, err := s.admin.CreateAccessControlWithResponse(ctx, "acme", api.AccessControlInput{Name: api.LocalizedName{"en": "Example name", "de": "Beispielname"},
		RoleId: role.JSON201.Id, ResourceId: res.JSON201.Id})
	if err != nil || ac.JSON201 == nil {
		tb.Fatalf("access control: %v %s", err, ac.Body)
	}
	tpl, err := s.admin.CreateTemplateWithResponse(ctx, "acme", api.TemplateInput{Name: api.LocalizedName{"en": "Example name", "de": "Beispielname"},
		Description: &api.LocalizedText{"en": "Example role template description"}, AccessControls: api.RbacIds{ac.JSON201.Id}})
	if err != nil || tpl.JSON201 == nil {
		tb.Fatalf("template: %v %s", err, tpl.Body)
	}
	const group, user = "1gr5e52e-6e27-4ac5-9471-2467d3fb7503", "00u4ukqvzlEP31sCk417"
	for _, a := range []api.AssignmentInput{{Subject: "group-" + group, AccessControlId: &ac.JSON201.Id}, {Subject: "user-" + user, TemplateId: &tpl.JSON201.Id}} {
		if r, err := s.admin.AssignWithResponse(ctx, "acme", a); err != nil || r.JSON201 == nil {
			tb.Fatalf("assign: %v %s", err, r.Body)
		}
	}
	return emporixFixture{ids: map[string]string{"{tenant}": "acme", "{resourceId}": res.JSON201.Id, "{permissionId}": perm.JSON201.Id,
		"{roleId}": role.JSON201.Id, "{accessControlId}": ac.JSON201.Id, "{templateId}": tpl.JSON201.Id, "{groupId}": group, "{userId}": user}}
}

func (f emporixFixture) fill(path string) string {
	for k, v := range f.ids {
		path = strings.ReplaceAll(path, k, v)
	}
	return path
}

// emporixGet sends a GET with token and headers; it returns the status, the headers and
// the decoded JSON body.
func emporixGet(tb testing.TB, s *stack, token, path string, headers map[string]string) (int, http.Header, any) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body any
	if err := json.Unmarshal(raw, &body); err != nil {
		tb.Fatalf("GET %s: %d, not JSON: %s", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, resp.Header, body
}

// sameShape reports where got differs from the documented want: every field of want must
// be in got with the same JSON type; arrays' items are checked against each documented
// item's fields (a field only some documented items have is optional), and a documented
// non-empty array must not come back empty (else nothing would be checked).
func sameShape(at string, want, got any, differs map[string]string) []string {
	if _, ok := differs[at]; ok {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %T", at, got)}
		}
		if strings.HasSuffix(at, ".name") || strings.HasSuffix(at, ".description") {
			// Language codes are data, not fields: any languages, each a string.
			for k, v := range g {
				if _, ok := v.(string); !ok {
					return []string{fmt.Sprintf("%s.%s: want a string, got %T", at, k, v)}
				}
			}
			return nil
		}
		var bad []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				bad = append(bad, at+"."+k+": missing")
				continue
			}
			bad = append(bad, sameShape(at+"."+k, wv, gv, differs)...)
		}
		return bad
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an array, got %T", at, got)}
		}
		if len(w) == 0 {
			return nil
		}
		if len(g) == 0 {
			return []string{at + ": empty, the seed documents entries"}
		}
		var bad []string
		for _, gi := range g {
			bad = append(bad, sameShape(at+"[]", mergedItem(w), gi, differs)...)
		}
		return bad
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			return []string{fmt.Sprintf("%s: want %T, got %T", at, want, got)}
		}
		return nil
	}
}

// mergedItem is the fields every documented item has (objects), or the first item.
func mergedItem(items []any) any {
	first, ok := items[0].(map[string]any)
	if !ok {
		return items[0]
	}
	common := map[string]any{}
	for k, v := range first {
		everywhere := true
		for _, it := range items[1:] {
			if m, ok := it.(map[string]any); !ok || m[k] == nil {
				everywhere = false
			}
		}
		if everywhere {
			common[k] = v
		}
	}
	return common
}

func TestEmporixReplay(t *testing.T) {
	s := mustStart(t)
	f := mustEmporixFixture(t, s)
	raw, err := os.ReadFile("testdata/emporix/replay.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []emporixCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	// The group's and the user's access controls reach the user through the group.
	s.membership(t, "group-"+f.ids["{groupId}"], "user-"+f.ids["{userId}"], false)
	admin := s.Issuer.Token(t, "acme", "client-admin", "iam.access_read", "iam.permission_read", "iam.resource_read",
		"iam.role_read", "iam.template_read", "iam.scope_read")
	me := s.Issuer.Token(t, "acme", "user-"+f.ids["{userId}"])
	within(t, 5e9, "the user's scopes through the group", func() bool {
		_, _, body := emporixGet(t, s, admin, f.fill("/iam/{tenant}/users/{userId}/scopes"), nil)
		m, _ := body.(map[string]any)
		return strings.Contains(fmt.Sprint(m["scopes"]), "serviceName.resource_read")
	})
	for _, tc := range cases {
		t.Run(tc.Seed, func(t *testing.T) {
			token := admin
			if strings.Contains(tc.Path, "/users/me/") {
				token = me
			}
			status, headers, body := emporixGet(t, s, token, f.fill(tc.Path), tc.Headers)
			if status != tc.Status {
				t.Fatalf("status %d, want %d: %v", status, tc.Status, body)
			}
			for _, bad := range sameShape("", tc.Body, body, tc.Differs) {
				t.Error(bad)
			}
			if tc.Headers["X-Total-Count"] == "true" && headers.Get("X-Total-Count") == "" {
				t.Error("no X-Total-Count header")
			}
		})
	}
}
