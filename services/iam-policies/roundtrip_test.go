package iampolicies_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/iamplane/iam/services/iam-policies/api"
)

// rawJSON sends a request with body (nil: none) as acme's admin: the status and the decoded answer.
func (s *stack) rawJSON(tb testing.TB, method, path string, body map[string]any) (int, map[string]any) {
	tb.Helper()
	var in io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		in = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, s.URL+path, in)
	req.Header.Set("Authorization", "Bearer "+s.Issuer.Token(tb, "acme", "client-admin", "services.iam"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestReadModifyWrite sends every mutable resource back as GET shows it, with one field
// changed: accepted (200, the change made), while a changed read-only field is refused
// naming it, never silently ignored.
func TestReadModifyWrite(t *testing.T) {
	s := mustStart(t)
	f := mustRBAC(t, s)
	ctx := context.Background()
	if r, err := s.admin.CreateActionWithResponse(ctx, "acme", api.ActionInput{Id: "invoice.read", DisplayName: "Read invoices"}); err != nil || r.JSON201 == nil {
		t.Fatalf("action: %v %s", err, r.Body)
	}
	if r, err := s.admin.SetTenantRolesWithResponse(ctx, "acme", "user-u1", nil, api.TenantRolesInput{TenantRoles: []string{"TenantAdmin"}}); err != nil || r.JSON200 == nil {
		t.Fatalf("tenant roles: %v %s", err, r.Body)
	}
	const base = "/v1/tenants/acme/"
	name := func(m map[string]any) { m["name"] = map[string]any{"en": "Changed"} }
	for _, tc := range []struct {
		path     string
		change   func(map[string]any)
		changed  func(map[string]any) bool
		readOnly []string // fields a GET shows that a write may not change
	}{
		{"actions/invoice.read", func(m map[string]any) { m["displayName"] = "Changed" },
			func(m map[string]any) bool { return m["displayName"] == "Changed" }, []string{"id", "metadata.createdAt", "metadata.modifiedAt"}},
		{"resources/" + f.group.Id, name, nil, []string{"id", "metadata.createdAt", "metadata.modifiedAt"}},
		{"permissions/" + f.read.Id, name, nil, []string{"id", "metadata.createdAt", "metadata.modifiedAt"}},
		{"roles/" + f.role.Id, name, nil, []string{"id", "metadata.createdAt", "metadata.modifiedAt"}},
		{"access-controls/" + f.accessControl.Id, name, nil, []string{"id", "scopes", "metadata.createdAt", "metadata.modifiedAt"}},
		{"templates/" + f.template.Id, name, nil, []string{"id", "metadata.createdAt", "metadata.modifiedAt"}},
		{"tenant-roles/user-u1", func(m map[string]any) { m["tenantRoles"] = []any{"TenantAdmin", "Auditor"} },
			func(m map[string]any) bool { return len(m["tenantRoles"].([]any)) == 2 }, []string{"subject"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			for _, field := range tc.readOnly {
				status, got := s.rawJSON(t, http.MethodGet, base+tc.path, nil)
				if status != 200 {
					t.Fatalf("GET: %d %v", status, got)
				}
				tamper(got, field)
				status, answer := s.rawJSON(t, http.MethodPut, base+tc.path, got)
				if status != http.StatusUnprocessableEntity || !strings.Contains(mustJSON(answer), `"`+field+`"`) {
					t.Errorf("changed %s: %d %v, want 422 naming it", field, status, answer)
				}
			}
			status, got := s.rawJSON(t, http.MethodGet, base+tc.path, nil)
			if status != 200 {
				t.Fatalf("GET: %d %v", status, got)
			}
			tc.change(got)
			status, answer := s.rawJSON(t, http.MethodPut, base+tc.path, got)
			if status != 200 {
				t.Fatalf("PUT of the GET representation: %d %v", status, answer)
			}
			changed := tc.changed
			if changed == nil {
				changed = func(m map[string]any) bool { return mustJSON(m["name"]) == `{"en":"Changed"}` }
			}
			if _, now := s.rawJSON(t, http.MethodGet, base+tc.path, nil); !changed(now) {
				t.Errorf("the change was not made: %v", now)
			}
		})
	}
	t.Run("read-only fields on create", func(t *testing.T) {
		status, answer := s.rawJSON(t, http.MethodPost, base+"resources", map[string]any{"id": "mine", "name": map[string]any{"en": "x"}, "code": "x.y"})
		if status != http.StatusUnprocessableEntity || !strings.Contains(mustJSON(answer), `"id"`) {
			t.Errorf("create with an id: %d %v", status, answer)
		}
	})
}

// tamper changes a read-only field of a representation (a dotted path).
func tamper(m map[string]any, field string) {
	parts := strings.Split(field, ".")
	for _, p := range parts[:len(parts)-1] {
		m = m[p].(map[string]any)
	}
	last := parts[len(parts)-1]
	switch v := m[last].(type) {
	case []any:
		m[last] = append(v, "other")
	case string:
		if strings.Contains(v, "T") && strings.HasSuffix(v, "Z") {
			m[last] = "2001-01-01T00:00:00Z"
		} else {
			m[last] = v + "-other"
		}
	}
}

func mustJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
