package iampolicies_test

import (
	"context"
	"slices"
	"testing"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"

	"github.com/iamplane/iam/services/iam-policies/api"
)

// groupEvent plays iam-subjects: group id's state at version, naming access controls and
// templates as an Emporix group does; deleted plays its tombstone.
func (s *stack) groupEvent(tb testing.TB, id string, version int64, deleted bool, accessControls, templates []string) events.Envelope {
	tb.Helper()
	state := schema.GroupState{Tenant: "acme", Id: id, SubjectId: "group-" + id, DisplayName: id, Deleted: deleted}
	if accessControls != nil {
		state.AccessControls = &accessControls
	}
	if templates != nil {
		state.Templates = &templates
	}
	ev, err := events.New("/iam/iam-subjects", events.Entity{Tenant: "acme", Area: "subjects", Kind: "group", ID: id}, version, deleted, state)
	if err != nil {
		tb.Fatal(err)
	}
	s.publish(tb, ev)
	return ev
}

// groupAssignments lists group's assignments: "ac:<id>" or "tpl:<id>", sorted.
func (s *stack) groupAssignments(tb testing.TB, group string) []string {
	tb.Helper()
	subject := "group-" + group
	resp, err := s.admin.ListAssignmentsWithResponse(context.Background(), "acme", &api.ListAssignmentsParams{Subject: &subject})
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("assignments: %v %s", err, resp.Body)
	}
	var out []string
	for _, a := range resp.JSON200.Data {
		if a.AccessControlId != nil {
			out = append(out, "ac:"+*a.AccessControlId)
		} else {
			out = append(out, "tpl:"+*a.TemplateId)
		}
	}
	slices.Sort(out)
	return out
}

// TestGroupEventsDeriveAssignments: an Emporix group's accessControls and templates
// (published by iam-subjects in its group events) become the group's assignments, from
// the newest event's sets, whatever order and however often the events come; an
// assignment made through the API is left alone.
func TestGroupEventsDeriveAssignments(t *testing.T) {
	s := mustStart(t)
	f := mustRBAC(t, s)
	ctx := context.Background()
	other, err := s.admin.CreateAccessControlWithResponse(ctx, "acme", api.AccessControlInput{Name: api.LocalizedName{"en": "Users"},
		RoleId: f.role.Id, ResourceId: f.user.Id})
	if err != nil || other.JSON201 == nil {
		t.Fatalf("access control: %v %s", err, other.Body)
	}
	ac, ac2, tpl := f.accessControl.Id, other.JSON201.Id, f.template.Id
	s.membership(t, "g1", "user-u1", false)

	// Version 2 comes first, names the access control, the template and an unknown id.
	s.caughtUp(t, s.groupEvent(t, "g1", 2, false, []string{ac, "no-such-access-control"}, []string{tpl}))
	if got := s.groupAssignments(t, "g1"); !slices.Equal(got, []string{"ac:" + ac, "tpl:" + tpl}) {
		t.Fatalf("after version 2: %v", got)
	}
	if !s.allowedScope(t, "user-u1", "iam.group_read") {
		r, _ := s.admin.GetEffectiveScopesWithResponse(ctx, "acme", "user-u1", nil)
		t.Errorf("the member did not get the group's access control's scopes: %s", r.Body)
	}
	// The stale version 1 and a duplicate of version 2 change nothing.
	s.groupEvent(t, "g1", 1, false, []string{ac2}, nil)
	s.caughtUp(t, s.groupEvent(t, "g1", 2, false, []string{ac, "no-such-access-control"}, []string{tpl}))
	if got := s.groupAssignments(t, "g1"); !slices.Equal(got, []string{"ac:" + ac, "tpl:" + tpl}) {
		t.Fatalf("after a stale and a duplicate event: %v", got)
	}

	// An assignment made through the API stays whatever the events say.
	if a, err := s.admin.AssignWithResponse(ctx, "acme", nil, api.AssignmentInput{Subject: "group-g1", AccessControlId: &ac2}); err != nil || a.JSON201 == nil {
		t.Fatalf("assign: %v %s", err, a.Body)
	}
	// Version 3 names only the second access control: the first and the template go.
	s.caughtUp(t, s.groupEvent(t, "g1", 3, false, []string{ac2}, nil))
	if got := s.groupAssignments(t, "g1"); !slices.Equal(got, []string{"ac:" + ac2}) {
		t.Fatalf("after version 3: %v", got)
	}
	// Version 4 names nothing (a native group): the API's assignment stays.
	s.caughtUp(t, s.groupEvent(t, "g1", 4, false, nil, nil))
	if got := s.groupAssignments(t, "g1"); !slices.Equal(got, []string{"ac:" + ac2}) {
		t.Fatalf("after version 4: %v", got)
	}
	if s.allowedScope(t, "user-u1", "iam.group_read") {
		t.Error("the member kept a scope the group no longer gives")
	}

	// The tombstone takes what the group named away.
	s.caughtUp(t, s.groupEvent(t, "g2", 5, false, []string{ac}, nil))
	if got := s.groupAssignments(t, "g2"); !slices.Equal(got, []string{"ac:" + ac}) {
		t.Fatalf("g2: %v", got)
	}
	s.caughtUp(t, s.groupEvent(t, "g2", 6, true, nil, nil))
	if got := s.groupAssignments(t, "g2"); len(got) != 0 {
		t.Fatalf("after g2's tombstone: %v", got)
	}
	// A derived assignment holds the access control, as any assignment does.
	s.caughtUp(t, s.groupEvent(t, "g3", 7, false, []string{ac2}, nil))
	if r, _ := s.admin.DeleteAccessControlWithResponse(ctx, "acme", ac2); r.StatusCode() != 409 {
		t.Errorf("deleting an access control a group names: %d", r.StatusCode())
	}
}

// allowedScope reports whether subject's effective scopes hold scope.
func (s *stack) allowedScope(tb testing.TB, subject, scope string) bool {
	tb.Helper()
	resp, err := s.admin.GetEffectiveScopesWithResponse(context.Background(), "acme", subject, nil)
	if err != nil || resp.JSON200 == nil {
		tb.Fatalf("scopes: %v %s", err, resp.Body)
	}
	return slices.Contains(splitSpaces(resp.JSON200.Scopes), scope)
}

func splitSpaces(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
