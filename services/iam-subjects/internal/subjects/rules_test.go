package subjects

import (
	"errors"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

func TestParseSort(t *testing.T) {
	for _, tc := range []struct {
		name, sort string
		want       []SortKey
		err        bool
	}{
		{"empty", "", nil, false},
		{"one field", "name", []SortKey{{Field: "name"}}, false},
		{"directions", "name:desc, metadata.modifiedAt:ASC", []SortKey{{"name", true}, {"metadata.modifiedAt", false}}, false},
		{"unknown field", "shoeSize", nil, true},
		{"unknown direction", "name:up", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSort("sort", tc.sort, GroupSortFields)
			if tc.err {
				if !errs.Is(err, errs.BadRequest) {
					t.Fatalf("got %v, want a bad request", err)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("%v %v", got, err)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("%v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestUserRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    UserFields
		ok   bool
	}{
		{"username", UserFields{Username: "ada"}, true},
		{"email", UserFields{Email: "ada@example.com"}, true},
		{"only a contactEmail (Emporix)", UserFields{ContactEmail: "ada@example.com"}, true},
		{"none of them", UserFields{FirstName: "Ada"}, false},
		{"blank ones", UserFields{Username: " ", ContactEmail: "  "}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := (&User{}).Apply(tc.f); (err == nil) != tc.ok {
				t.Errorf("Apply: %v", err)
			}
		})
	}
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"00u4ukqvzlEP31sCk417", true}, {"0b4f2c7e-2d55-4c89-9d3b-2f8f3b0d6e21", true}, {"a_b-c", true},
		{"", false}, {"with space", false}, {"dot.ted", false}, {string(make([]byte, 65)), false},
	} {
		if err := ValidateUserID(tc.id); (err == nil) != tc.ok {
			t.Errorf("ValidateUserID(%q): %v", tc.id, err)
		}
	}
}

func TestGroupReferences(t *testing.T) {
	g := &Group{}
	if err := g.Apply(GroupFields{DisplayName: "G", AccessControls: []string{"ac-1", "ac-1", "ac:2"}}); err != nil || len(g.AccessControls) != 2 {
		t.Fatalf("%v %v", g.AccessControls, err)
	}
	err := g.Apply(GroupFields{DisplayName: "G", Templates: []string{"ok", "not ok"}})
	var e *errs.Error
	if !errs.Is(err, errs.Invalid) || !errors.As(err, &e) || e.Fields[0].Field != "templates.1" {
		t.Fatalf("%v", err)
	}
}

func TestEchoes(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	g := &Group{Tenant: "acme", ID: "g1", MemberCount: 2, CreatedAt: created, ModifiedAt: created,
		GroupFields: GroupFields{Description: map[string]string{"en": "Old", "de": "Alt"}}}
	s := func(v string) *string { return &v }
	n := func(v int) *int { return &v }
	for _, tc := range []struct {
		name  string
		echo  GroupEcho
		field string // "" when accepted
	}{
		{"nothing sent", GroupEcho{}, ""},
		{"all as stored", GroupEcho{ID: s("g1"), SubjectID: s("group-g1"), Type: s("Group"), Tenant: s("acme"), MemberCount: n(2),
			LocalizedDescription: s("Alt"), PropertiesDescription: s("Old"), CreatedAt: &created, ModifiedAt: &created}, ""},
		{"the new description's text", GroupEcho{LocalizedDescription: s("New")}, ""},
		{"another id", GroupEcho{ID: s("g2")}, "id"},
		{"another member count", GroupEcho{PropertiesMemberCount: n(3)}, "properties.memberCount"},
		{"another tenant", GroupEcho{Tenant: s("globex")}, "tenant"},
		{"another creation time", GroupEcho{CreatedAt: &time.Time{}}, "metadata.createdAt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.echo.check(g, map[string]string{"en": "New"})
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.Invalid || e.Fields[0].Field != tc.field {
				t.Fatalf("%v, want a 422 naming %s", err, tc.field)
			}
		})
	}
	u := &User{ID: "u1", UserFields: UserFields{GroupIDs: []string{"a", "b"}}}
	if err := (UserEcho{GroupIDs: []string{"b", "a"}}).check(u, u.GroupIDs); err != nil {
		t.Errorf("groups as stored: %v", err)
	}
	if err := (UserEcho{GroupIDs: []string{"a"}}).check(u, u.GroupIDs); err == nil {
		t.Errorf("other groups accepted")
	}
}

func TestOwnScopes(t *testing.T) {
	own := &auth.Claims{Subject: "user-alice", Scope: "iam.group_read_own"}
	full := &auth.Claims{Subject: "user-alice", Scope: "iam.group_read"}
	admin := &auth.Claims{Subject: "client-x", Scope: "services.iam"}
	for _, tc := range []struct {
		name   string
		caller *auth.Claims
		asked  UserType
		want   UserType
		denied bool
	}{
		{"own: customer groups only", own, "", Customer, false},
		{"own: asking for customers", own, Customer, Customer, false},
		{"own: asking for employees", own, Employee, "", true},
		{"full scope", full, Employee, Employee, false},
		{"umbrella scope", admin, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ownGroupQuery(tc.caller, GroupQuery{UserType: tc.asked})
			if tc.denied {
				if !errs.Is(err, errs.Forbidden) {
					t.Fatalf("%v", err)
				}
				return
			}
			if err != nil || q.UserType != tc.want {
				t.Fatalf("%v %v", q.UserType, err)
			}
		})
	}
}
