package iamsubjects_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/events"

	"github.com/iamplane/iam/services/iam-subjects/api"
)

func TestGroupsAreLocalizedAndVersioned(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	created, err := s.admin.CreateGroupWithResponse(ctx, "acme", api.GroupInput{
		Name: &api.LocalizedText{"en": "Customers", "de": "Kunden"}, Description: desc(api.LocalizedText{"en": "Storefront users", "de": "Storefront-Benutzer"}),
		Code: ptr("CUSTOMER"), UserType: ptr(api.CUSTOMER), B2b: &api.B2B{LegalEntityId: ptr("le-1")}})
	if err != nil || created.JSON201 == nil || created.JSON201.DisplayName != "Customers" {
		t.Fatalf("%v %s", err, created.Body)
	}
	g := *created.JSON201
	de, _ := s.admin.GetGroupWithResponse(ctx, "acme", g.Id, &api.GetGroupParams{AcceptLanguage: ptr("de-CH, en;q=0.5")})
	if de.JSON200.DisplayName != "Kunden" || *de.JSON200.LocalizedDescription != "Storefront-Benutzer" || *de.JSON200.B2b.LegalEntityId != "le-1" {
		t.Errorf("localized: %s", de.Body)
	}

	// PUT upserts: 201 for a new id, 200 for a change naming the current version.
	put := func(id string, in api.GroupInput, ifMatch *string) *api.UpsertGroupResponse {
		resp, err := s.admin.UpsertGroupWithResponse(ctx, "acme", id, &api.UpsertGroupParams{IfMatch: ifMatch}, in)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := put("ops", api.GroupInput{DisplayName: ptr("Operations")}, nil); resp.StatusCode() != 201 || resp.JSON201.Name["en"] != "Operations" {
		t.Fatalf("create by PUT: %d %s", resp.StatusCode(), resp.Body)
	}
	if resp := put("ops", api.GroupInput{DisplayName: ptr("Ops"), Metadata: &api.MetadataInput{Version: 1}}, nil); resp.StatusCode() != 200 || resp.JSON200.Metadata.Version != 2 {
		t.Fatalf("update by PUT: %d %s", resp.StatusCode(), resp.Body)
	}
	if resp := put("ops", api.GroupInput{DisplayName: ptr("lost"), Metadata: &api.MetadataInput{Version: 1}}, nil); resp.StatusCode() != 409 {
		t.Fatalf("stale PUT: %d %s", resp.StatusCode(), resp.Body)
	}
	if resp := put("ops", api.GroupInput{DisplayName: ptr("lost")}, ptr(`"1"`)); resp.StatusCode() != 412 {
		t.Fatalf("stale If-Match: %d %s", resp.StatusCode(), resp.Body)
	}
	if resp := put("ops", api.GroupInput{DisplayName: ptr("blind")}, nil); resp.StatusCode() != 422 {
		t.Fatalf("PUT without version: %d %s", resp.StatusCode(), resp.Body)
	}
	if resp := put("bad id!", api.GroupInput{DisplayName: ptr("x")}, nil); resp.StatusCode() != 400 {
		t.Fatalf("bad id: %d %s", resp.StatusCode(), resp.Body)
	}
	if resp := put("nameless", api.GroupInput{}, nil); resp.StatusCode() != 422 {
		t.Fatalf("nameless: %d %s", resp.StatusCode(), resp.Body)
	}
	// A version names a replace, never a create: a PUT based on version 1 of a group
	// deleted a moment ago does not bring it back.
	if resp := put("gone", api.GroupInput{DisplayName: ptr("Gone")}, nil); resp.StatusCode() != 201 {
		t.Fatalf("create gone: %d %s", resp.StatusCode(), resp.Body)
	}
	if del, err := s.admin.DeleteGroupWithResponse(ctx, "acme", "gone", nil); err != nil || del.StatusCode() != 204 {
		t.Fatalf("delete gone: %v %d", err, del.StatusCode())
	}
	if resp := put("gone", api.GroupInput{DisplayName: ptr("Gone"), Metadata: &api.MetadataInput{Version: 1}}, nil); resp.StatusCode() != 404 {
		t.Fatalf("PUT naming a version of a deleted group: %d %s", resp.StatusCode(), resp.Body)
	}
	if resp := put("gone", api.GroupInput{DisplayName: ptr("Gone")}, ptr(`"1"`)); resp.StatusCode() != 412 {
		t.Fatalf("PUT with If-Match on a deleted group: %d %s", resp.StatusCode(), resp.Body)
	}
	if got, _ := s.admin.GetGroupWithResponse(ctx, "acme", "gone", nil); got.StatusCode() != 404 {
		t.Fatalf("the deleted group came back: %d", got.StatusCode())
	}

	list, _ := s.admin.ListGroupsWithResponse(ctx, "acme", &api.ListGroupsParams{UserType: ptr(api.CUSTOMER)})
	if list.JSON200.Total != 1 || list.JSON200.Data[0].Id != g.Id {
		t.Errorf("filter by userType: %s", list.Body)
	}
	ev := s.published(t, "iam.acme.subjects.group.ops", func(ev events.Envelope) bool { return strings.Contains(string(ev.Data), `"Ops"`) })
	if ev.Type != "dev.iamplane.group.upserted.v1" {
		t.Errorf("group event %+v", ev)
	}
}

func TestDeletingAGroupWithMembers(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	parent, g := s.mustGroup(t, "Parent"), s.mustGroup(t, "Team")
	u := s.mustUser(t, "erin")
	s.mustAdd(t, g.Id, "user-"+u.Id)
	s.mustAdd(t, parent.Id, "group-"+g.Id)

	manager := s.as(t, s.Issuer.Token(t, "acme", "client-m", "iam.group_manage"))
	if resp, _ := manager.DeleteGroupWithResponse(ctx, "acme", g.Id, nil); resp.StatusCode() != 409 {
		t.Fatalf("without forceDelete: %d %s", resp.StatusCode(), resp.Body)
	}
	if resp, _ := manager.DeleteGroupWithResponse(ctx, "acme", g.Id, &api.DeleteGroupParams{ForceDelete: ptr(true)}); resp.StatusCode() != 403 {
		t.Fatalf("forceDelete without iam.assignment_manage: %d %s", resp.StatusCode(), resp.Body)
	}
	both := s.as(t, s.Issuer.Token(t, "acme", "client-m", "iam.group_manage", "iam.assignment_manage"))
	if resp, _ := both.DeleteGroupWithResponse(ctx, "acme", g.Id, &api.DeleteGroupParams{ForceDelete: ptr(true)}); resp.StatusCode() != 204 {
		t.Fatalf("forceDelete: %d %s", resp.StatusCode(), resp.Body)
	}
	if got := s.groupsOf(t, "user-"+u.Id, true); len(got) != 0 {
		t.Errorf("user still in %v", got)
	}
	if got := s.members(t, parent.Id, true); len(got) != 0 {
		t.Errorf("parent still has %v", got)
	}
	// Both memberships are tombstoned for consumers.
	for _, key := range []string{g.Id + "~user-" + u.Id, parent.Id + "~group-" + g.Id} {
		s.published(t, "iam.acme.subjects.membership."+key, func(ev events.Envelope) bool { return ev.Deleted })
	}
	empty := s.mustGroup(t, "Empty")
	if resp, _ := manager.DeleteGroupWithResponse(ctx, "acme", empty.Id, nil); resp.StatusCode() != 204 {
		t.Fatalf("empty group: %d %s", resp.StatusCode(), resp.Body)
	}
}

func TestMemberships(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	a, b, c, d := s.mustGroup(t, "A"), s.mustGroup(t, "B"), s.mustGroup(t, "C"), s.mustGroup(t, "D")
	u := s.mustUser(t, "frank")
	client := s.mustClientSubject(t, "svc1")
	user := "user-" + u.Id

	t.Run("users, clients and groups can be members", func(t *testing.T) {
		s.mustAdd(t, d.Id, user, client)
		s.mustAdd(t, b.Id, "group-"+d.Id)
		s.mustAdd(t, c.Id, "group-"+d.Id)
		s.mustAdd(t, a.Id, "group-"+b.Id, "group-"+c.Id) // a diamond: A ⊃ B ⊃ D and A ⊃ C ⊃ D
		if got := s.members(t, a.Id, true); !sameSet(got, []string{"group-" + b.Id, "group-" + c.Id, "group-" + d.Id, user, client}) {
			t.Errorf("A transitively: %v", got)
		}
		if got := s.members(t, a.Id, false); len(got) != 2 {
			t.Errorf("A directly: %v", got)
		}
		if got := s.groupsOf(t, user, true); !sameSet(got, []string{"group-" + a.Id, "group-" + b.Id, "group-" + c.Id, "group-" + d.Id}) {
			t.Errorf("user's groups: %v", got)
		}
		if got := s.groupsOf(t, client, false); !sameSet(got, []string{"group-" + d.Id}) {
			t.Errorf("client's direct groups: %v", got)
		}
	})

	t.Run("removing one side of a diamond keeps the other path", func(t *testing.T) {
		resp, _ := s.admin.RemoveGroupMembersWithResponse(ctx, "acme", b.Id, api.MemberChange{SubjectIds: []string{"group-" + d.Id}})
		if resp.StatusCode() != 204 {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
		if got := s.groupsOf(t, user, true); !sameSet(got, []string{"group-" + a.Id, "group-" + c.Id, "group-" + d.Id}) {
			t.Errorf("after removing B ⊃ D: %v", got)
		}
		s.mustAdd(t, b.Id, "group-"+d.Id)
	})

	t.Run("cycles are refused", func(t *testing.T) {
		for _, tc := range []struct{ group, member string }{
			{a.Id, "group-" + a.Id}, // itself
			{d.Id, "group-" + a.Id}, // its ancestor, two levels up
			{b.Id, "group-" + a.Id}, // its parent
		} {
			resp := s.add(t, tc.group, tc.member)
			if resp.StatusCode() != 409 || problemType(t, resp.Body) != "conflict" {
				t.Errorf("%s into %s: %d %s", tc.member, tc.group, resp.StatusCode(), resp.Body)
			}
		}
	})

	t.Run("unknown or malformed subjects are named and nothing is applied", func(t *testing.T) {
		e := s.mustGroup(t, "E")
		resp := s.add(t, e.Id, user, "user-00000000-0000-0000-0000-000000000000", "robot-1", "client-nosuch")
		if resp.StatusCode() != 422 || !strings.Contains(string(resp.Body), "robot-1") {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
		resp = s.add(t, e.Id, user, "user-00000000-0000-0000-0000-000000000000", "client-nosuch")
		if resp.StatusCode() != 422 || !strings.Contains(string(resp.Body), "client-nosuch") || !strings.Contains(string(resp.Body), "00000000") {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
		if got := s.members(t, e.Id, false); len(got) != 0 {
			t.Errorf("partially applied: %v", got)
		}
		if resp := s.add(t, "no-such-group", user); resp.StatusCode() != 404 {
			t.Errorf("unknown group: %d", resp.StatusCode())
		}
	})

	t.Run("Emporix assignment endpoints", func(t *testing.T) {
		e := s.mustGroup(t, "F")
		assign := func() int {
			resp, err := s.admin.AssignUserToGroupWithResponse(ctx, "acme", e.Id, api.EMPLOYEE, uuid(t, u.Id))
			if err != nil {
				t.Fatal(err)
			}
			return resp.StatusCode()
		}
		if first, again := assign(), assign(); first != 201 || again != 200 {
			t.Errorf("assign: %d then %d", first, again)
		}
		wrongType, _ := s.admin.AssignUserToGroupWithResponse(ctx, "acme", e.Id, api.CUSTOMER, uuid(t, u.Id))
		if wrongType.StatusCode() != 422 {
			t.Errorf("wrong user type: %d", wrongType.StatusCode())
		}
		if resp, _ := s.admin.RemoveUserFromGroupWithResponse(ctx, "acme", e.Id, uuid(t, u.Id)); resp.StatusCode() != 204 {
			t.Errorf("remove: %d", resp.StatusCode())
		}
		other := s.mustUser(t, "gina")
		s.mustAdd(t, e.Id, user, "user-"+other.Id, client)
		if resp, _ := s.admin.RemoveAllUsersFromGroupWithResponse(ctx, "acme", e.Id); resp.StatusCode() != 204 {
			t.Errorf("remove all users: %d", resp.StatusCode())
		}
		if got := s.members(t, e.Id, false); !sameSet(got, []string{client}) {
			t.Errorf("after removing users: %v", got)
		}
		if resp, _ := s.admin.RemoveUserFromAllGroupsWithResponse(ctx, "acme", uuid(t, u.Id)); resp.StatusCode() != 204 {
			t.Errorf("remove from all: %d", resp.StatusCode())
		}
		if got := s.groupsOf(t, user, true); len(got) != 0 {
			t.Errorf("still in %v", got)
		}
	})

	t.Run("a deleted client leaves its groups", func(t *testing.T) {
		s.publishClient(t, "acme", "svc1", "client svc1", 2, true)
		within(t, 5*time.Second, "client membership removed", func() bool { return len(s.members(t, d.Id, false)) == 0 })
		s.published(t, "iam.acme.subjects.membership."+d.Id+"~"+client, func(ev events.Envelope) bool { return ev.Deleted })
	})
}

func TestBulkMembershipIsOneTransaction(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	g := s.mustGroup(t, "Everyone")
	// 10,000 users, inserted directly: this test is about the membership change.
	if _, err := s.DB.Exec(`
		INSERT INTO users (tenant, id, user_type, username, version, created_at, modified_at)
		SELECT 'acme', gen_random_uuid(), 'EMPLOYEE', 'bulk' || n, 1, now(), now() FROM generate_series(1, 10000) n;
		INSERT INTO subjects (tenant, type, id, display_name, username, search)
		SELECT tenant, 'User', id::text, username, username, username FROM users WHERE tenant = 'acme'`); err != nil {
		t.Fatal(err)
	}
	var ids []string
	if err := s.DB.Select(&ids, `SELECT 'user-' || id FROM users WHERE tenant = 'acme'`); err != nil {
		t.Fatal(err)
	}
	var before int
	_ = s.DB.Get(&before, `SELECT count(*) FROM outbox`)
	start := time.Now()
	resp := s.add(t, g.Id, ids...)
	if resp.JSON200 == nil || len(*resp.JSON200) != 10000 {
		t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
	}
	t.Logf("10,000 members added in %s", time.Since(start))
	var after int
	_ = s.DB.Get(&after, `SELECT count(*) FROM outbox`)
	if after-before != 10000 {
		t.Errorf("%d membership events recorded, want 10000", after-before)
	}
	// One bad id among 10,000 and nothing happens.
	h := s.mustGroup(t, "Nobody")
	bad := append(slices.Clone(ids[:9999]), "user-00000000-0000-0000-0000-000000000000")
	if resp := s.add(t, h.Id, bad...); resp.StatusCode() != 422 {
		t.Fatalf("%d", resp.StatusCode())
	}
	if got := s.members(t, h.Id, false); len(got) != 0 {
		t.Errorf("partial bulk write: %d members", len(got))
	}
}

func TestSubjectSearchAndMe(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	g := s.mustGroup(t, "Zeta team")
	u := s.mustUser(t, "helen", g.Id)
	client := s.mustClientSubject(t, "svc9")
	s.mustAdd(t, g.Id, client)

	all, _ := s.admin.ListSubjectsWithResponse(ctx, "acme", nil)
	if all.JSON200.Total != 3 || all.JSON200.Data[0].Type != api.SubjectTypeClient || all.JSON200.Data[2].Properties.MemberCount == nil || *all.JSON200.Data[2].Properties.MemberCount != 2 {
		t.Errorf("all subjects by name: %s", all.Body)
	}
	users, _ := s.admin.ListSubjectsWithResponse(ctx, "acme", &api.ListSubjectsParams{Type: ptr(api.SubjectTypeUser), SearchQuery: ptr("HEL")})
	if users.JSON200.Total != 1 || users.JSON200.Data[0].SubjectId != "user-"+u.Id || *users.JSON200.Data[0].Properties.Username != "helen" {
		t.Errorf("user search: %s", users.Body)
	}
	literal, _ := s.admin.ListSubjectsWithResponse(ctx, "acme", &api.ListSubjectsParams{SearchQuery: ptr("%")})
	if literal.JSON200.Total != 0 {
		t.Errorf("%% must match literally: %s", literal.Body)
	}
	if resp, _ := s.admin.GetSubjectWithResponse(ctx, "acme", "robot-1"); resp.StatusCode() != 400 {
		t.Errorf("malformed subject id: %d", resp.StatusCode())
	}

	me, err := s.as(t, s.Issuer.Token(t, "acme", client)).GetMeWithResponse(ctx, "acme")
	if err != nil || me.JSON200 == nil || me.JSON200.Subject.SubjectId != client || len(me.JSON200.Groups) != 1 || me.JSON200.Groups[0].SubjectId != "group-"+g.Id {
		t.Fatalf("me: %v %s", err, me.Body)
	}
	stranger, _ := s.as(t, s.Issuer.Token(t, "acme", "client-unknown")).GetMeWithResponse(ctx, "acme")
	if stranger.StatusCode() != 404 {
		t.Errorf("unknown caller: %d", stranger.StatusCode())
	}
}

func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// TestConcurrentNestingCannotBuildACycle races "A into B" against "B into A": nesting is
// serialized per tenant, so exactly one wins.
func TestConcurrentNestingCannotBuildACycle(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	for i := range 10 {
		a, b := s.mustGroup(t, fmt.Sprint("A", i)), s.mustGroup(t, fmt.Sprint("B", i))
		statuses := make(chan int, 2)
		for _, pair := range [][2]string{{a.Id, "group-" + b.Id}, {b.Id, "group-" + a.Id}} {
			go func() { statuses <- s.add(t, pair[0], pair[1]).StatusCode() }()
		}
		first, second := <-statuses, <-statuses
		if !(first == 200 && second == 409 || first == 409 && second == 200) {
			t.Fatalf("round %d: %d and %d, want one 200 and one 409", i, first, second)
		}
	}
}

// TestMemberPagesInNameOrder pages through a group's transitive members: in name order
// across nested groups, a member of two groups once, and a renamed member moves.
func TestMemberPagesInNameOrder(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	outer, inner := s.mustGroup(t, "Outer"), s.mustGroup(t, "zz inner")
	s.mustAdd(t, outer.Id, "group-"+inner.Id)
	var want []string
	var last api.User
	for i := range 15 {
		g := outer.Id
		if i%2 == 1 {
			g = inner.Id
		}
		last = s.mustUser(t, fmt.Sprintf("u%02d", i), g)
		want = append(want, "user-"+last.Id)
	}
	s.mustAdd(t, outer.Id, want[3]) // in both groups
	want = append(want, "group-"+inner.Id)

	page := func(n int32) ([]string, int32) {
		t.Helper()
		resp, err := s.admin.ListGroupMembersWithResponse(ctx, "acme", outer.Id,
			&api.ListGroupMembersParams{Transitive: ptr(true), Page: ptr(n), PageSize: ptr[int32](10)})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("page %d: %v %s", n, err, resp.Body)
		}
		return subjectIDs(resp.JSON200.Data), resp.JSON200.Total
	}
	first, total := page(1)
	second, _ := page(2)
	if got := append(first, second...); !slices.Equal(got, want) || total != 16 {
		t.Fatalf("pages %v (total %d), want %v (16)", got, total, want)
	}

	// u14 becomes "Aaa Tester": the first member now.
	resp, err := s.admin.ReplaceUserWithResponse(ctx, "acme", uuid(t, last.Id), nil, api.UserInput{Username: ptr("u14"),
		FirstName: ptr("Aaa"), LastName: ptr("Tester"), Metadata: &api.MetadataInput{Version: 1}})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("rename: %v %s", err, resp.Body)
	}
	if first, _ := page(1); first[0] != "user-"+last.Id {
		t.Fatalf("after the rename the first member is %s", first[0])
	}
}

// TestBroadSearchCountsUpToAPoint: a search matching more subjects than are worth counting
// reports 2,000 ("or more") and still pages in name order, whether it is one word (word
// lists) or several (trigram index, then a walk of the name index); a narrow one counts
// exactly.
func TestBroadSearchCountsUpToAPoint(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	if _, err := s.DB.Exec(`
		INSERT INTO subjects (tenant, type, id, display_name, username, search)
		SELECT 'acme', 'User', 'u' || n, 'Common ' || lpad(n::text, 5, '0'), 'c' || n, 'common ' || lpad(n::text, 5, '0') || ' c' || n
		FROM generate_series(1, 2500) n;
		-- Matches "common 0" through its username: the walk must not start past it.
		INSERT INTO subjects (tenant, type, id, display_name, username, search)
		VALUES ('acme', 'User', 'abel', 'Abel', 'xcommon', 'abel xcommon 0x');
		ANALYZE subjects`); err != nil {
		t.Fatal(err)
	}
	search := func(q string, page int32) ([]api.Subject, int32) {
		t.Helper()
		resp, err := s.admin.ListSubjectsWithResponse(ctx, "acme", &api.ListSubjectsParams{Type: ptr(api.SubjectTypeUser), SearchQuery: &q, Page: &page, PageSize: ptr[int32](50)})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("search %q: %v %s", q, err, resp.Body)
		}
		return resp.JSON200.Data, resp.JSON200.Total
	}
	for _, c := range []struct{ q, first, last, deep string }{
		{"common", "Abel", "Common 00049", "Common 02200"},
		{"common 0", "Abel", "Common 00049", "Common 02200"},
		{"ommon 0", "Abel", "Common 00049", "Common 02200"},
	} {
		first, total := search(c.q, 1)
		if total != 2000 || len(first) != 50 || first[0].DisplayName != c.first || first[49].DisplayName != c.last {
			t.Fatalf("broad search %q: total %d, %d rows from %q", c.q, total, len(first), first[0].DisplayName)
		}
		if deep, _ := search(c.q, 45); len(deep) != 50 || deep[0].DisplayName != c.deep {
			t.Fatalf("%q page 45 starts at %q", c.q, deep[0].DisplayName)
		}
	}
	if narrow, total := search("common 012", 1); total != 100 || len(narrow) == 0 || narrow[0].DisplayName != "Common 01200" {
		t.Fatalf("narrow search: total %d, first %q", total, narrow[0].DisplayName)
	}
}
