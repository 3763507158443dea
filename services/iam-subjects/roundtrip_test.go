package iamsubjects_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// native sends a JSON request to the native API as acme's admin and decodes the answer.
func (s *stack) native(tb testing.TB, method, path string, body any) (int, map[string]any, string) {
	tb.Helper()
	raw, _ := json.Marshal(body)
	if body == nil {
		raw = nil
	}
	req, _ := http.NewRequest(method, s.URL+"/v1/tenants/acme"+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+s.Issuer.Token(tb, "acme", "client-admin", "services.iam"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(buf.Bytes(), &out)
	return resp.StatusCode, out, buf.String()
}

// TestReadModifyWrite: every mutable resource of iam-subjects (users, groups) takes its
// own GET representation back on PUT: read-only fields are ignored when they are as
// stored and refused, by name, when a caller tries to change them.
func TestReadModifyWrite(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	g := s.mustGroup(t, "Readers")
	u := s.mustUser(t, "rita", g.Id)
	s.mustAdd(t, g.Id, "user-"+s.mustUser(t, "rolf").Id)

	for _, tc := range []struct {
		name, path, get string
		change          func(map[string]any)
	}{
		{"group", "/groups/" + g.Id, "/groups/" + g.Id, func(m map[string]any) { m["displayName"] = "Readers and writers" }},
		{"group, its code", "/groups/" + g.Id, "/groups/" + g.Id, func(m map[string]any) { m["code"] = "READERS" }},
		{"user", "/users/" + u.Id, "/users/" + u.Id, func(m map[string]any) { m["department"] = "Library" }},
		{"user with its groups expanded", "/users/" + u.Id, "/users/" + u.Id + "?expand=groups", func(m map[string]any) { m["lastName"] = "Reader" }},
	} {
		t.Run(tc.name+": GET, change, PUT back", func(t *testing.T) {
			status, got, raw := s.native(t, "GET", tc.get, nil)
			if status != 200 {
				t.Fatalf("%d %s", status, raw)
			}
			tc.change(got)
			if status, _, raw := s.native(t, "PUT", tc.path, got); status != 200 {
				t.Fatalf("PUT of the GET representation: %d %s", status, raw)
			}
		})
	}

	for _, tc := range []struct {
		name, path, field string
		change            func(map[string]any)
	}{
		{"group id", "/groups/" + g.Id, "id", func(m map[string]any) { m["id"] = "another" }},
		{"group subjectId", "/groups/" + g.Id, "subjectId", func(m map[string]any) { m["subjectId"] = "group-another" }},
		{"group memberCount", "/groups/" + g.Id, "memberCount", func(m map[string]any) { m["memberCount"] = 99 }},
		{"group properties.memberCount", "/groups/" + g.Id, "properties.memberCount", func(m map[string]any) {
			m["properties"] = map[string]any{"memberCount": 99}
		}},
		{"group tenant", "/groups/" + g.Id, "tenant", func(m map[string]any) { m["tenant"] = "globex" }},
		{"group type", "/groups/" + g.Id, "type", func(m map[string]any) { m["type"] = "User" }},
		{"group localizedDescription", "/groups/" + g.Id, "localizedDescription", func(m map[string]any) { m["localizedDescription"] = "not the description" }},
		{"group metadata.createdAt", "/groups/" + g.Id, "metadata.createdAt", func(m map[string]any) {
			m["metadata"].(map[string]any)["createdAt"] = "2001-01-01T00:00:00Z"
		}},
		{"group metadata.modifiedAt", "/groups/" + g.Id, "metadata.modifiedAt", func(m map[string]any) {
			m["metadata"].(map[string]any)["modifiedAt"] = "2001-01-01T00:00:00Z"
		}},
		{"user id", "/users/" + u.Id, "id", func(m map[string]any) { m["id"] = "another" }},
		{"user subjectId", "/users/" + u.Id, "subjectId", func(m map[string]any) { m["subjectId"] = "user-another" }},
		{"user groups", "/users/" + u.Id, "groups", func(m map[string]any) { m["groups"] = []any{map[string]any{"id": "other"}} }},
		{"user metadata.createdAt", "/users/" + u.Id, "metadata.createdAt", func(m map[string]any) {
			m["metadata"].(map[string]any)["createdAt"] = "2001-01-01T00:00:00Z"
		}},
	} {
		t.Run("changing "+tc.name+" is refused", func(t *testing.T) {
			status, got, raw := s.native(t, "GET", tc.path, nil)
			if status != 200 {
				t.Fatalf("%d %s", status, raw)
			}
			tc.change(got)
			status, _, raw = s.native(t, "PUT", tc.path, got)
			if status != 422 || !strings.Contains(raw, `"`+tc.field+`"`) {
				t.Fatalf("%d %s, want 422 naming %s", status, raw, tc.field)
			}
		})
	}
}

// TestAritmaBodies: Aritma v1's documented bodies work on the native API.
func TestAritmaBodies(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	// POST groups {displayName, description} with a plain-string description; the answer
	// is Aritma's group subject as well.
	status, g, raw := s.native(t, "POST", "/groups", map[string]any{"displayName": "Administrators", "description": "All administrators"})
	if status != 201 || g["displayName"] != "Administrators" || g["type"] != "Group" || g["tenant"] != "acme" ||
		g["subjectId"] != "group-"+g["id"].(string) || field(g, "properties", "description") != "All administrators" ||
		field(g, "properties", "memberCount") != float64(0) || field(g, "description", "en") != "All administrators" {
		t.Fatalf("%d %s", status, raw)
	}
	id := g["id"].(string)
	u := s.mustUser(t, "ada")
	// Adding members answers [{groupId, subjectId}]; removing answers 204.
	req, _ := json.Marshal(map[string]any{"subjectIds": []string{"user-" + u.Id, "user-" + u.Id}})
	resp := s.post(t, "/groups/"+id+"/members", req)
	var added []map[string]string
	if err := json.Unmarshal([]byte(resp), &added); err != nil || len(added) != 1 || added[0]["groupId"] != id || added[0]["subjectId"] != "user-"+u.Id {
		t.Fatalf("add members: %v %s", err, resp)
	}
	if status, _, raw := s.native(t, "DELETE", "/groups/"+id+"/members", map[string]any{"subjectIds": []string{"user-" + u.Id}}); status != 204 || raw != "" {
		t.Fatalf("remove members: %d %s", status, raw)
	}
	// A plain-string description replaces, too.
	if status, g, raw := s.native(t, "PUT", "/groups/"+id, map[string]any{"displayName": "Admins", "description": "Everyone", "metadata": map[string]any{"version": 1}}); status != 200 || field(g, "description", "en") != "Everyone" {
		t.Fatalf("%d %s", status, raw)
	}
}

func (s *stack) post(tb testing.TB, path string, body []byte) string {
	tb.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/v1/tenants/acme"+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.Issuer.Token(tb, "acme", "client-admin", "services.iam"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != 200 {
		tb.Fatalf("POST %s: %d %s", path, resp.StatusCode, buf.String())
	}
	return buf.String()
}
