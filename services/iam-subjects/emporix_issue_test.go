package iamsubjects_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/events"
)

// TestEmporixIssue16 is issue 16's Emporix complaint list, each a case.
func TestEmporixIssue16(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	e := s.emporix(t)
	group := func(id, en, de, description, userType, legalEntity string) {
		t.Helper()
		body := map[string]any{"id": id, "name": map[string]string{"en": en, "de": de}, "description": map[string]string{"en": description}, "userType": userType}
		if legalEntity != "" {
			body["b2b"] = map[string]string{"legalEntityId": legalEntity}
		}
		e.must(201, "POST", "/groups", body)
	}
	group("g-alpha", "Alpha", "Alpha-de", "first storefront group", "CUSTOMER", "company-a")
	group("g-bravo", "Bravo", "Bravo-de", "second storefront group", "CUSTOMER", "company-b")
	group("g-charlie", "Charlie", "Charlie-de", "back office", "EMPLOYEE", "")

	t.Run("pageNumber is honoured: paging until a short page ends", func(t *testing.T) {
		var seen []string
		for n := 1; n <= 5; n++ {
			a := e.must(200, "GET", "/groups?pageSize=2&pageNumber="+string(rune('0'+n)), nil, "X-Total-Count: true")
			if a.header.Get("X-Total-Count") != "3" {
				t.Fatalf("X-Total-Count %q", a.header.Get("X-Total-Count"))
			}
			page := ids(a.body)
			seen = append(seen, page...)
			if len(page) < 2 {
				break
			}
		}
		if !slices.Equal(seen, []string{"g-alpha", "g-bravo", "g-charlie"}) {
			t.Fatalf("pages: %v", seen)
		}
	})
	t.Run("sort is honoured", func(t *testing.T) {
		if got := ids(e.must(200, "GET", "/groups?sort=name:desc", nil).body); !slices.Equal(got, []string{"g-charlie", "g-bravo", "g-alpha"}) {
			t.Errorf("name:desc: %v", got)
		}
		if got := ids(e.must(200, "GET", "/groups?sort=userType:asc,name:desc", nil).body); !slices.Equal(got, []string{"g-bravo", "g-alpha", "g-charlie"}) {
			t.Errorf("userType:asc,name:desc: %v", got)
		}
	})
	t.Run("name, description and metadataModifiedAt filter", func(t *testing.T) {
		if got := ids(e.must(200, "GET", "/groups?name=bravo-DE", nil).body); !slices.Equal(got, []string{"g-bravo"}) {
			t.Errorf("name (any language, any case): %v", got)
		}
		if got := ids(e.must(200, "GET", "/groups?description=storefront", nil).body); !slices.Equal(got, []string{"g-alpha", "g-bravo"}) {
			t.Errorf("description: %v", got)
		}
		tomorrow := time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02")
		if got := e.must(200, "GET", "/groups?metadataModifiedAt="+tomorrow, nil).body.([]any); len(got) != 0 {
			t.Errorf("modified since tomorrow: %v", ids(got))
		}
		if got := ids(e.must(200, "GET", "/groups?metadataModifiedAt=2022-01-01", nil).body); len(got) != 3 {
			t.Errorf("modified since 2022: %v", got)
		}
	})
	t.Run("groups keep accessControls and templates, and publish them", func(t *testing.T) {
		e.must(201, "POST", "/groups", `{"id": "g-acl", "name": {"en": "ACL"}, "accessControls": ["ac-1", "ac-2"], "templates": ["tpl-1"]}`)
		a := e.must(200, "GET", "/groups/g-acl", nil)
		if !slices.Equal(strs(field(a.body, "accessControls")), []string{"ac-1", "ac-2"}) || !slices.Equal(strs(field(a.body, "templates")), []string{"tpl-1"}) {
			t.Fatalf("%s", a.raw)
		}
		ev := s.published(t, "iam.acme.subjects.group.g-acl", func(ev events.Envelope) bool { return strings.Contains(string(ev.Data), "ac-2") })
		if !strings.Contains(string(ev.Data), `"accessControls":["ac-1","ac-2"]`) || !strings.Contains(string(ev.Data), `"templates":["tpl-1"]`) {
			t.Errorf("group event: %s", ev.Data)
		}
		e.must(200, "PUT", "/groups/g-acl", `{"name": {"en": "ACL"}, "accessControls": ["ac-2"]}`)
		ev = s.published(t, "iam.acme.subjects.group.g-acl", func(ev events.Envelope) bool { return !strings.Contains(string(ev.Data), "ac-1") })
		if strings.Contains(string(ev.Data), "templates") {
			t.Errorf("templates removed, still published: %s", ev.Data)
		}
	})
	t.Run("a user with only a contactEmail", func(t *testing.T) {
		e.must(201, "POST", "/users", `{"contactEmail": "only@example.com"}`)
	})
	t.Run("backofficeUserNumber and a non-UUID id are kept on import", func(t *testing.T) {
		e.must(201, "POST", "/users", `{"id": "00u4ukqvzlEP31sCk417", "backofficeUserNumber": "00u4ukqvzlEP31sCk417", "contactEmail": "user1@gmail.com", "groupIds": ["g-charlie"]}`)
		a := e.must(200, "GET", "/users/00u4ukqvzlEP31sCk417", nil)
		if field(a.body, "backofficeUserNumber") != "00u4ukqvzlEP31sCk417" {
			t.Errorf("%s", a.raw)
		}
		e.must(409, "POST", "/users", `{"id": "00u4ukqvzlEP31sCk417", "contactEmail": "other@gmail.com"}`)
		sub, err := s.admin.GetSubjectWithResponse(t.Context(), "acme", "user-00u4ukqvzlEP31sCk417")
		if err != nil || sub.JSON200 == nil || sub.JSON200.DisplayName != "user1@gmail.com" {
			t.Errorf("subject: %v %s", err, sub.Body)
		}
	})
	t.Run("POST and GET /groups/{id}/users, GET /users/{u}/groups/{g}", func(t *testing.T) {
		e.must(201, "POST", "/groups/g-alpha/users", `{"userId": "00u4ukqvzlEP31sCk417", "userType": "EMPLOYEE"}`)
		if a := e.must(200, "GET", "/groups/g-alpha/users", nil); field(a.body.([]any)[0], "id") != "g-alpha~user-00u4ukqvzlEP31sCk417" {
			t.Errorf("%s", a.raw)
		}
		e.must(200, "GET", "/users/00u4ukqvzlEP31sCk417/groups/g-alpha", nil)
		e.must(404, "GET", "/users/00u4ukqvzlEP31sCk417/groups/g-bravo", nil)
	})

	t.Run("*_own scopes", func(t *testing.T) {
		// alice and bob are of company-a (in g-alpha), carol of company-b (in g-bravo).
		for _, u := range []struct{ id, group string }{{"alice", "g-alpha"}, {"bob", "g-alpha"}, {"carol", "g-bravo"}} {
			e.must(201, "POST", "/users", map[string]any{"id": u.id, "contactEmail": u.id + "@example.com", "userType": "CUSTOMER", "groupIds": []string{u.group}})
		}
		e.must(201, "POST", "/groups", `{"id": "g-buyers", "name": {"en": "Buyers"}, "userType": "CUSTOMER"}`)
		alice := &emporix{tb: t, url: s.URL, token: s.Issuer.Token(t, "acme", "user-alice",
			"iam.group_read_own iam.user_read_own iam.assignment_create_own iam.assignment_delete_own")}

		// iam.group_read_own: CUSTOMER groups only.
		for _, g := range ids(alice.must(200, "GET", "/groups", nil).body) {
			if g == "g-charlie" {
				t.Errorf("group_read_own sees the EMPLOYEE group")
			}
		}
		alice.must(403, "GET", "/groups?userType=EMPLOYEE", nil)
		// iam.assignment_create_own: a user of her company, not another's.
		alice.must(201, "POST", "/groups/g-buyers/users", `{"userId": "bob", "userType": "CUSTOMER"}`)
		alice.must(403, "POST", "/groups/g-buyers/users", `{"userId": "carol", "userType": "CUSTOMER"}`)
		e.must(201, "POST", "/groups/g-buyers/users", `{"userId": "carol", "userType": "CUSTOMER"}`)
		// iam.user_read_own: her company's users of the group.
		if got := ids(alice.must(200, "GET", "/groups/g-buyers/users", nil).body); len(got) != 1 || got[0] != "g-buyers~user-bob" {
			t.Errorf("user_read_own: %v", got)
		}
		if got := e.must(200, "GET", "/groups/g-buyers/users", nil).body.([]any); len(got) != 2 {
			t.Errorf("user_read: %d", len(got))
		}
		// iam.assignment_delete_own.
		alice.must(403, "DELETE", "/groups/g-buyers/users/carol", nil)
		alice.must(204, "DELETE", "/groups/g-buyers/users/bob", nil)
		// A client (no company) with only _own scopes acts on nobody.
		client := &emporix{tb: t, url: s.URL, token: s.Issuer.Token(t, "acme", "client-shop", "iam.assignment_create_own")}
		client.must(403, "POST", "/groups/g-buyers/users", `{"userId": "bob", "userType": "CUSTOMER"}`)
	})
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestChosenUUIDIdsIgnoreCase: a caller-chosen id that is a UUID is found in any case, as
// UUID ids always were.
func TestChosenUUIDIdsIgnoreCase(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	e := s.emporix(t)
	e.must(201, "POST", "/users", `{"id": "0B4F2C7E-2D55-4C89-9D3B-2F8F3B0D6E21", "contactEmail": "u@example.com"}`)
	for _, id := range []string{"0B4F2C7E-2D55-4C89-9D3B-2F8F3B0D6E21", "0b4f2c7e-2d55-4c89-9d3b-2f8f3b0d6e21"} {
		if a := e.must(200, "GET", "/users/"+id, nil); field(a.body, "id") != "0b4f2c7e-2d55-4c89-9d3b-2f8f3b0d6e21" {
			t.Errorf("%s", a.raw)
		}
	}
}
