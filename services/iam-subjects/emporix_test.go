package iamsubjects_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// emporix sends requests to the Emporix dialect (/iam/{tenant}/...) with a token.
type emporix struct {
	tb    testing.TB
	url   string
	token string
}

func (s *stack) emporix(tb testing.TB, scopes ...string) *emporix {
	tb.Helper()
	if len(scopes) == 0 {
		scopes = []string{"services.iam"}
	}
	return &emporix{tb: tb, url: s.URL, token: s.Issuer.Token(tb, "acme", "client-emporix", strings.Join(scopes, " "))}
}

// answer is a response: status, headers, decoded JSON body (nil when empty).
type answer struct {
	status int
	header http.Header
	body   any
	raw    string
}

// do sends method path (below /iam/acme) with body (a JSON string or a value) and headers
// as "Name: value".
func (e *emporix) do(method, path string, body any, headers ...string) answer {
	e.tb.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.url+"/iam/acme"+path, rd)
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.tb.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: buf.String()}
	if buf.Len() > 0 {
		if err := json.Unmarshal(buf.Bytes(), &a.body); err != nil {
			e.tb.Fatalf("%s %s: not JSON: %s", method, path, buf.String())
		}
	}
	return a
}

// must sends the request and fails unless the status is want.
func (e *emporix) must(want int, method, path string, body any, headers ...string) answer {
	e.tb.Helper()
	a := e.do(method, path, body, headers...)
	if a.status != want {
		e.tb.Fatalf("%s %s: %d, want %d: %s", method, path, a.status, want, a.raw)
	}
	return a
}

// seed reads a transcribed seed example: testdata/emporix/<name>.json's part
// ("request" or "response").
func seed(tb testing.TB, name, part string) any {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "emporix", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	v, ok := doc[part]
	if !ok {
		tb.Fatalf("%s has no %s", name, part)
	}
	return v
}

// withField is a seed request with one field changed (nil: removed).
func withField(body any, key string, value any) map[string]any {
	out := map[string]any{}
	for k, v := range body.(map[string]any) {
		out[k] = v
	}
	if value == nil {
		delete(out, key)
	} else {
		out[key] = value
	}
	return out
}

// sameShape checks that got has every field of the seed's example want, with the same
// JSON type, recursively (arrays by their first element); fields in skip (a dotted path
// such as "mixins") are differences the README lists.
func sameShape(tb testing.TB, what string, want, got any, skip ...string) {
	tb.Helper()
	var walk func(path string, w, g any)
	walk = func(path string, w, g any) {
		if slices.Contains(skip, strings.TrimPrefix(path, ".")) {
			return
		}
		if jsonType(w) != jsonType(g) {
			tb.Errorf("%s: %s is %s in the seed, %s in the answer", what, path, jsonType(w), jsonType(g))
			return
		}
		switch w := w.(type) {
		case map[string]any:
			g := g.(map[string]any)
			for k, wv := range w {
				gv, ok := g[k]
				if !ok {
					if !slices.Contains(skip, strings.TrimPrefix(path+"."+k, ".")) {
						tb.Errorf("%s: the answer has no %s", what, strings.TrimPrefix(path+"."+k, "."))
					}
					continue
				}
				walk(path+"."+k, wv, gv)
			}
		case []any:
			g := g.([]any)
			if len(w) > 0 && len(g) == 0 {
				tb.Errorf("%s: %s is empty in the answer", what, path+"[]")
				return
			}
			if len(w) > 0 {
				walk(path+"[]", w[0], g[0])
			}
		}
	}
	walk("", want, got)
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func field(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func ids(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, field(x, "id").(string))
	}
	return out
}

// TestEmporixReplay sends every request example of seed 004 for the operations
// iam-subjects serves, in an order that makes each meaningful (the groups the examples
// name exist before users name them), and checks each answer's status and shape against
// the seed's.
func TestEmporixReplay(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	e := s.emporix(t)
	const (
		boManagers = "1gr5e52e-6e27-4ac5-9471-2467d3fb7503" // groupIds of the seed's user examples
		second     = "1gr5e52e-6e27-4ac5-9471-2467d3fb7504"
		customers  = "1gr5e52e-6e27-4ac5-9471-2467d3fb7500" // the list example's first group
		importedID = "00u4ukqvzlEP31sCk417"                 // the seed's user id
		customerID = "f543dc9e-a3f6-4573-bb01-a8ae21d2d4ae" // the assignment example's user
	)

	// Groups: the upsert example (metadata.version 1) creates, then replaces.
	upsert := seed(t, "upsert-group", "request")
	a := e.must(201, "PUT", "/groups/"+boManagers, withField(upsert, "name", map[string]any{"en": "Backoffice managers", "de": "Backoffice Manager"}))
	sameShape(t, "upsert (created)", seed(t, "upsert-group", "response"), a.body)
	a = e.must(200, "PUT", "/groups/"+boManagers, withField(withField(upsert, "name", map[string]any{"en": "Backoffice managers", "de": "Backoffice Manager"}), "code", "BO_MANAGER"))
	sameShape(t, "upsert (replaced)", seed(t, "upsert-group", "response"), a.body)
	e.must(409, "PUT", "/groups/"+boManagers, upsert) // version 1 is stale now
	e.must(201, "PUT", "/groups/"+second, withField(upsert, "metadata", nil))

	a = e.must(201, "POST", "/groups", seed(t, "create-group", "request"))
	sameShape(t, "create group", seed(t, "create-group", "response"), a.body)
	listed := seed(t, "list-groups", "response").([]any)[0]
	e.must(201, "POST", "/groups", withField(listed, "metadata", nil))
	if a := e.do("POST", "/groups", withField(listed, "metadata", nil)); a.status != 409 {
		t.Errorf("a group id taken: %d %s", a.status, a.raw)
	}

	a = e.must(200, "GET", "/groups?pageNumber=1&pageSize=60&sort=name&userType=CUSTOMER", nil, "X-Total-Count: true", "Accept-Language: de")
	sameShape(t, "list groups", seed(t, "list-groups", "response"), a.body)
	if a.header.Get("X-Total-Count") != "4" {
		t.Errorf("X-Total-Count %q, want 4", a.header.Get("X-Total-Count"))
	}
	a = e.must(200, "GET", "/groups/"+customers, nil, "Accept-Language: en")
	sameShape(t, "get group", seed(t, "get-group", "response"), a.body, "mixins")

	// Users.
	a = e.must(201, "POST", "/users", seed(t, "create-user", "request"))
	sameShape(t, "create user", seed(t, "create-user", "response"), a.body)
	created := field(a.body, "id").(string)
	imported := withField(withField(withField(seed(t, "create-user", "request"), "id", importedID), "backofficeUserNumber", importedID), "contactEmail", "user1@gmail.com")
	imported["groupIds"] = []string{boManagers}
	imported["validFrom"], imported["isAccountLocked"], imported["status"] = "2022-08-19T10:41:10Z", true, "ACTIVE"
	if a := e.must(201, "POST", "/users", imported); field(a.body, "id") != importedID {
		t.Errorf("the imported id was not kept: %s", a.raw)
	}
	a = e.must(200, "GET", "/users/"+importedID+"?expand=groups", nil)
	sameShape(t, "get user", seed(t, "get-user", "response"), a.body)
	a = e.must(200, "GET", "/users?pageNumber=1&pageSize=60&expand=groups&userType=EMPLOYEE", nil, "X-Total-Count: false")
	sameShape(t, "list users", seed(t, "list-users", "response"), a.body)
	if a.header.Get("X-Total-Count") != "" || len(a.body.([]any)) != 2 {
		t.Errorf("list users: X-Total-Count %q (not asked for), %d users", a.header.Get("X-Total-Count"), len(a.body.([]any)))
	}
	e.must(204, "PUT", "/users/"+created, seed(t, "update-user", "request"))
	if a := e.must(200, "GET", "/users/"+created, nil); field(a.body, "backofficeUserNumber") != "00u4ujmuyhhfJodyS417" || field(a.body, "contactEmail") != "example@emporix.com" {
		t.Errorf("the update did not change the fields it carries, or lost one it does not: %s", a.raw)
	}

	// Assignments.
	e.must(201, "POST", "/users", map[string]any{"id": customerID, "contactEmail": "customer@example.com", "userType": "CUSTOMER"})
	a = e.must(201, "POST", "/groups/"+customers+"/users", seed(t, "assign-user", "request"))
	sameShape(t, "assign user", seed(t, "assign-user", "response"), a.body)
	a = e.must(201, "PUT", "/groups/"+second+"/users/EMPLOYEE/"+importedID, nil)
	sameShape(t, "put assignment (new)", seed(t, "put-assignment", "response"), a.body)
	a = e.must(200, "PUT", "/groups/"+second+"/users/EMPLOYEE/"+importedID, nil)
	sameShape(t, "put assignment (existing)", seed(t, "put-assignment", "response"), a.body)
	e.must(422, "PUT", "/groups/"+second+"/users/CUSTOMER/"+importedID, nil)
	a = e.must(200, "GET", "/groups/"+customers+"/users?pageNumber=1&pageSize=60", nil, "X-Total-Count: true")
	sameShape(t, "list group users", seed(t, "list-group-users", "response"), a.body)
	if a.header.Get("X-Total-Count") != "1" || field(a.body.([]any)[0], "userId") != customerID {
		t.Errorf("group users: %s %s", a.header.Get("X-Total-Count"), a.raw)
	}
	a = e.must(200, "GET", "/users/"+customerID+"/groups?pageNumber=1&pageSize=60&sort=name", nil, "X-Total-Count: true", "Accept-Language: en")
	sameShape(t, "list user groups", seed(t, "list-user-groups", "response"), a.body)
	a = e.must(200, "GET", "/users/"+customerID+"/groups/"+customers, nil, "Accept-Language: en")
	sameShape(t, "get user group", seed(t, "get-user-group", "response"), a.body)
	e.must(404, "GET", "/users/"+customerID+"/groups/"+boManagers, nil)

	e.must(204, "DELETE", "/groups/"+second+"/users/"+importedID, nil)
	e.must(204, "DELETE", "/users/"+customerID+"/groups", nil)
	if a := e.must(200, "GET", "/users/"+customerID+"/groups", nil); len(a.body.([]any)) != 0 {
		t.Errorf("still in groups: %s", a.raw)
	}
	e.must(204, "DELETE", "/groups/"+second+"/users", nil)

	// A group with users: 400 without forceDelete, in Emporix's error shape.
	a = e.must(400, "DELETE", "/groups/"+boManagers+"?forceDelete=false", nil)
	sameShape(t, "delete a group with users", seed(t, "delete-group-with-users", "response"), a.body, "resourceId", "code")
	e.must(204, "DELETE", "/groups/"+boManagers+"?forceDelete=true", nil)
	e.must(404, "GET", "/groups/"+boManagers, nil)
	e.must(204, "DELETE", "/users/"+importedID+"?forceDelete=false", nil) // its groups went with the group
	e.must(404, "GET", "/users/"+importedID, nil)
}

// TestEmporixRefusals: what the dialect does not take is refused by name, in Emporix's
// error shape; a missing token is the gateway's fault object.
func TestEmporixRefusals(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	e := s.emporix(t)
	bad := seed(t, "bad-request", "response")
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		names              string
	}{
		{"an unknown query parameter", "GET", "/groups?pageNo=2", nil, 400, "pageNo"},
		{"an unknown body field", "POST", "/groups", `{"name": {"en": "G"}, "mixins": {"a": 1}}`, 400, "mixins"},
		{"an unknown sort field", "GET", "/groups?sort=shoeSize:desc", nil, 400, "sort"},
		{"an unknown sort direction", "GET", "/groups?sort=name:up", nil, 400, "sort"},
		{"a malformed metadataModifiedAt", "GET", "/groups?metadataModifiedAt=yesterday", nil, 400, "metadataModifiedAt"},
		{"a page size past the maximum (never cut)", "GET", "/users?pageSize=5000", nil, 400, "pageSize"},
		{"page 0", "GET", "/users?pageNumber=0", nil, 400, "pageNumber"},
		{"a user with neither contactEmail, email nor username", "POST", "/users", `{"firstName": "x"}`, 422, "contactEmail"},
		{"a malformed user id", "POST", "/users", `{"id": "no spaces", "contactEmail": "x@example.com"}`, 400, "id"},
		{"a malformed access control id", "POST", "/groups", `{"name": {"en": "G"}, "accessControls": ["a b"]}`, 400, "accessControls"},
		{"a group without a name", "POST", "/groups", `{"description": {"en": "G"}}`, 400, "name"},
		{"an unknown user", "GET", "/users/00u000000000000000", nil, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(tc.method, tc.path, tc.body)
			if a.status != tc.status || !strings.Contains(a.raw, tc.names) {
				t.Fatalf("%d %s, want %d naming %q", a.status, a.raw, tc.status, tc.names)
			}
			var skip []string
			if tc.names == "" {
				skip = []string{"details"} // a not-found names no field
			}
			sameShape(t, tc.name, bad, a.body, skip...)
		})
	}
	t.Run("no token", func(t *testing.T) {
		a := (&emporix{tb: t, url: s.URL}).do("GET", "/groups", nil)
		if a.status != 401 {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		sameShape(t, "no token", seed(t, "unauthorized", "response"), a.body)
	})
	t.Run("another tenant's token", func(t *testing.T) {
		other := &emporix{tb: t, url: s.URL, token: s.Issuer.Token(t, "globex", "client-x", "services.iam")}
		if a := other.do("GET", "/groups", nil); a.status != 401 && a.status != 403 {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
	t.Run("a scope of another operation", func(t *testing.T) {
		if a := s.emporix(t, "iam.group_read").do("POST", "/groups", `{"name": {"en": "G"}}`); a.status != 403 {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
}
