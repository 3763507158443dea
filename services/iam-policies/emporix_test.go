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
		if r, err := s.admin.AssignWithResponse(ctx, "acme", nil, a); err != nil || r.JSON201 == nil {
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
	s.membership(t, f.ids["{groupId}"], "user-"+f.ids["{userId}"], false)
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

// TestEmporixDialect checks what the replay cannot: paging, sorting, filters, languages,
// and every refusal in Emporix's error shape.
func TestEmporixDialect(t *testing.T) {
	s := mustStart(t)
	f := mustEmporixFixture(t, s)
	ctx := context.Background()
	for _, name := range []string{"Beta", "Alpha"} {
		if r, err := s.admin.CreateResourceWithResponse(ctx, "acme", api.ResourceInput{Name: api.LocalizedName{"en": name}, Code: "x." + strings.ToLower(name)}); err != nil || r.JSON201 == nil {
			t.Fatalf("resource: %v %s", err, r.Body)
		}
	}
	admin := s.Issuer.Token(t, "acme", "client-admin", "iam.access_read", "iam.resource_read", "iam.role_read", "iam.template_read")
	names := func(body any) []string {
		var out []string
		for _, it := range body.([]any) {
			out = append(out, fmt.Sprint(it.(map[string]any)["name"]))
		}
		return out
	}
	t.Run("paging, sorting and X-Total-Count", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			want  string
		}{
			{"sort=name:asc&pageSize=1&pageNumber=1", "[Alpha]"},
			{"sort=name:asc&pageSize=1&pageNumber=2", "[Beta]"},
			{"sort=name:desc&pageSize=2&pageNumber=1", "[Example name Beta]"},
			{"sort=code:asc,name", "[serviceName.resource x.alpha x.beta]"},
			{"pageSize=2&pageNumber=2", "[Alpha]"}, // oldest first: Example name, Beta, Alpha
			{"pageSize=2&pageNumber=3", "[]"},
			{"name=alp", "[Alpha]"},
			{"metadataModifiedAt=2999-01-01", "[]"},
		} {
			status, headers, body := emporixGet(t, s, admin, "/iam/acme/resources?"+tc.query, map[string]string{"Accept-Language": "en", "X-Total-Count": "true"})
			got := fmt.Sprint(names(body))
			if strings.HasPrefix(tc.query, "sort=code") {
				var codes []string
				for _, it := range body.([]any) {
					codes = append(codes, fmt.Sprint(it.(map[string]any)["code"]))
				}
				got = fmt.Sprint(codes)
			}
			if status != 200 || got != tc.want {
				t.Errorf("%s: %d %s, want %s", tc.query, status, got, tc.want)
			}
			if headers.Get("X-Total-Count") == "" {
				t.Errorf("%s: no X-Total-Count", tc.query)
			}
		}
		_, headers, _ := emporixGet(t, s, admin, "/iam/acme/resources?pageSize=1", map[string]string{"X-Total-Count": "true"})
		if headers.Get("X-Total-Count") != "3" {
			t.Errorf("X-Total-Count %q, want 3", headers.Get("X-Total-Count"))
		}
		_, headers, _ = emporixGet(t, s, admin, "/iam/acme/resources", nil)
		if headers.Get("X-Total-Count") != "" {
			t.Error("X-Total-Count sent unasked")
		}
	})
	t.Run("languages and expansion", func(t *testing.T) {
		_, _, body := emporixGet(t, s, admin, f.fill("/iam/acme/access-controls/{accessControlId}?expand=role"), map[string]string{"Accept-Language": "de"})
		ac := body.(map[string]any)
		if ac["name"] != "Beispielname" || ac["role"] == nil || ac["resource"] != nil {
			t.Errorf("access control in German with its role: %v", ac)
		}
		_, _, body = emporixGet(t, s, admin, f.fill("/iam/acme/templates/{templateId}"), nil)
		if ids := body.(map[string]any)["accessControls"].([]any); len(ids) != 1 || ids[0] != f.ids["{accessControlId}"] {
			t.Errorf("template's access controls by id: %v", ids)
		}
		_, _, body = emporixGet(t, s, admin, f.fill("/iam/acme/templates/{templateId}?expand=accessControls"), nil)
		if acs := body.(map[string]any)["accessControls"].([]any); len(acs) != 1 || acs[0].(map[string]any)["id"] != f.ids["{accessControlId}"] {
			t.Errorf("template's access controls expanded: %v", acs)
		}
		_, _, body = emporixGet(t, s, admin, f.fill("/iam/acme/access-controls?roleId=unknown"), nil)
		if len(body.([]any)) != 0 {
			t.Errorf("roleId filter: %v", body)
		}
	})
	other := s.Issuer.Token(t, "globex", "client-admin", "services.iam")
	unscoped := s.Issuer.Token(t, "acme", "client-x", "iam.group_read")
	for _, tc := range []struct {
		name, token, path string
		status            int
		mentions          string
	}{
		{"undeclared parameter", admin, "/iam/acme/resources?pageNo=2", 400, "pageNo"},
		{"native paging parameter", admin, "/iam/acme/roles?page=2", 400, "page"},
		{"unknown sort field", admin, "/iam/acme/roles?sort=colour", 400, "sort"},
		{"sort by code where there is none", admin, "/iam/acme/roles?sort=code", 400, "sort"},
		{"bad sort direction", admin, "/iam/acme/templates?sort=name:up", 400, "sort"},
		{"page size 0", admin, "/iam/acme/resources?pageSize=0", 400, "pageSize"},
		{"page number 0", admin, "/iam/acme/resources?pageNumber=0", 400, "pageNumber"},
		{"bad date", admin, "/iam/acme/access-controls?metadataModifiedAt=yesterday", 400, "metadataModifiedAt"},
		{"unknown expansion", admin, "/iam/acme/access-controls?expand=roles", 400, "expand"},
		{"filter an operation lacks", admin, "/iam/acme/access-controls?name=x", 400, "name"},
		{"unknown role", admin, "/iam/acme/roles/nope", 404, "nope"},
		{"unknown resource of a user", s.Issuer.Token(t, "acme", "client-admin", "iam.permission_read"), "/iam/acme/users/u1/permissions/nope", 404, "nope"},
		{"scope of another operation", admin, "/iam/acme/users/u1/permissions/nope", 403, "iam.permission_read"},
		{"missing scope", unscoped, "/iam/acme/roles", 403, "iam.role_read"},
		{"another tenant's token", other, "/iam/acme/roles", 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := emporixGet(t, s, tc.token, tc.path, nil)
			m, _ := body.(map[string]any)
			if status != tc.status || m["code"] != float64(tc.status) || m["status"] != http.StatusText(tc.status) || m["details"] == nil {
				t.Fatalf("%d %v, want %d in Emporix's error shape", status, body, tc.status)
			}
			if !strings.Contains(fmt.Sprint(m), tc.mentions) {
				t.Errorf("%v does not name %s", m, tc.mentions)
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		status, _, body := emporixGet(t, s, "", "/iam/acme/roles", nil)
		fault, _ := body.(map[string]any)["fault"].(map[string]any)
		if status != 401 || fault == nil || fault["faultstring"] == "" {
			t.Errorf("%d %v, want Emporix's 401 fault", status, body)
		}
	})
}
