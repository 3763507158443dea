package iamsubjects_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestBadInput: every malformed request is a problem naming what is wrong, never a 500
// and never a partial write.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	token := s.Issuer.Token(t, "acme", "client-admin", "services.iam")
	g := s.mustGroup(t, "G")
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"bad email", "POST", "/v1/tenants/acme/users", `{"email": "not-an-email"}`, 400, "email"},
		{"unknown field", "POST", "/v1/tenants/acme/users", `{"username": "x", "shoeSize": 44}`, 400, "shoeSize"},
		{"bad user type", "POST", "/v1/tenants/acme/users", `{"username": "x", "userType": "ROBOT"}`, 400, "userType"},
		{"bad currency", "POST", "/v1/tenants/acme/users", `{"username": "x", "preferredCurrency": "euro"}`, 400, "preferredCurrency"},
		{"neither username nor email", "POST", "/v1/tenants/acme/users", `{"firstName": "x"}`, 422, "username"},
		{"user id not of the id rule", "GET", "/v1/tenants/acme/users/bad.id", ``, 400, "userId"},
		{"a caller-chosen user id that does not exist", "GET", "/v1/tenants/acme/users/00u4ukqvzlEP31sCk417", ``, 404, ""},
		{"unknown user", "GET", "/v1/tenants/acme/users/00000000-0000-0000-0000-000000000000", ``, 404, ""},
		{"bad page size", "GET", "/v1/tenants/acme/users?pageSize=lots", ``, 400, "pageSize"},
		{"bad subject type filter", "GET", "/v1/tenants/acme/subjects?type=Robot", ``, 400, "type"},
		{"bad transitive flag", "GET", "/v1/tenants/acme/groups/" + g.Id + "/members?transitive=maybe", ``, 400, "transitive"},
		{"empty member list", "POST", "/v1/tenants/acme/groups/" + g.Id + "/members", `{"subjectIds": []}`, 400, "subjectIds"},
		{"members not a list", "POST", "/v1/tenants/acme/groups/" + g.Id + "/members", `{"subjectIds": "user-1"}`, 400, "subjectIds"},
		{"bad localized name", "POST", "/v1/tenants/acme/groups", `{"name": {"en": 5}}`, 400, "name"},
		{"another (malformed) tenant: authorization comes first", "GET", "/v1/tenants/Acme_Corp/users", ``, 403, "Acme_Corp"},
		{"not JSON", "POST", "/v1/tenants/acme/groups", `{"displayName": `, 400, ""},
		{"NUL in a name", "POST", "/v1/tenants/acme/groups", `{"displayName": "a\u0000b"}`, 400, "displayName"},
		{"NUL in a search", "GET", "/v1/tenants/acme/subjects?searchQuery=a%00b", ``, 400, "searchQuery"},
		{"version keys differing in case", "PUT", "/v1/tenants/acme/groups/" + g.Id, `{"displayName": "G", "metadata": {"version": 1, "Version": 9}}`, 400, "Version"},
		{"a version key in the wrong case", "PUT", "/v1/tenants/acme/groups/" + g.Id, `{"displayName": "G", "metadata": {"Version": 1}}`, 400, "Version"},
		{"wrong method", "PATCH", "/v1/tenants/acme/users", `{}`, 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body json.RawMessage
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if tc.field != "" && !strings.Contains(string(body), tc.field) {
				t.Errorf("problem does not name %q: %s", tc.field, body)
			}
		})
	}
	var users int
	if err := s.DB.Get(&users, `SELECT count(*) FROM users`); err != nil || users != 0 {
		t.Errorf("bad input wrote %d users (%v)", users, err)
	}
}
