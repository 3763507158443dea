package events

import (
	pkgevents "github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"

	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// The builders pass no version: events.Record stamps it from the database's sequence.

// Source is the CloudEvents source of this service's events.
const Source = "/iam/iam-subjects"

func entity(tenant, kind, id string) pkgevents.Entity {
	return pkgevents.Entity{Tenant: tenant, Area: "subjects", Kind: kind, ID: id}
}

// UserChanged is a user's new state.
func UserChanged(u *subjects.User) (pkgevents.Envelope, error) {
	return pkgevents.New(Source, entity(u.Tenant, "user", u.ID), 0, false, schema.UserState{
		Id: u.ID, SubjectId: subjects.Ref{Type: subjects.TypeUser, ID: u.ID}.String(), Tenant: u.Tenant,
		DisplayName: u.DisplayName(), UserType: schema.UserStateUserType(u.Type),
		Username: &u.Username, Email: &u.Email, EmailVerified: &u.EmailVerified, FirstName: &u.FirstName,
		LastName: &u.LastName, PhoneNumber: &u.PhoneNumber, PreferredLanguage: &u.PreferredLanguage,
		Status: &u.Status, IsAccountLocked: &u.Locked,
	})
}

// UserDeleted is a user's tombstone.
func UserDeleted(tenant, id string) (pkgevents.Envelope, error) {
	return pkgevents.New(Source, entity(tenant, "user", id), 0, true, schema.UserState{
		Id: id, SubjectId: subjects.Ref{Type: subjects.TypeUser, ID: id}.String(), Tenant: tenant, Deleted: true,
		UserType: schema.EMPLOYEE,
	})
}

// GroupChanged is a group's new state.
func GroupChanged(g *subjects.Group) (pkgevents.Envelope, error) {
	name := g.Name
	state := schema.GroupState{
		Id: g.ID, SubjectId: subjects.Ref{Type: subjects.TypeGroup, ID: g.ID}.String(), Tenant: g.Tenant,
		DisplayName: g.DisplayName, Name: &name, Code: &g.Code, UserType: ptr(string(g.UserType)),
	}
	// Absent when empty: a group naming no access controls or templates.
	if len(g.AccessControls) > 0 {
		state.AccessControls = ptr(append([]string{}, g.AccessControls...))
	}
	if len(g.Templates) > 0 {
		state.Templates = ptr(append([]string{}, g.Templates...))
	}
	return pkgevents.New(Source, entity(g.Tenant, "group", g.ID), 0, false, state)
}

// GroupDeleted is a group's tombstone.
func GroupDeleted(tenant, id string) (pkgevents.Envelope, error) {
	return pkgevents.New(Source, entity(tenant, "group", id), 0, true, schema.GroupState{
		Id: id, SubjectId: subjects.Ref{Type: subjects.TypeGroup, ID: id}.String(), Tenant: tenant, Deleted: true,
	})
}

// MembershipKey is the entity id of a membership: <groupId>~<member subject id>.
func MembershipKey(groupID string, member subjects.Ref) string {
	return groupID + "~" + member.String()
}

// Membership is a membership's state: added, or removed (a tombstone).
func Membership(tenant, groupID string, member subjects.Ref, removed bool) (pkgevents.Envelope, error) {
	return pkgevents.New(Source, entity(tenant, "membership", MembershipKey(groupID, member)), 0, removed, schema.MembershipState{
		Tenant: tenant, GroupId: groupID, Member: member.String(), MemberType: schema.MembershipStateMemberType(member.Type), Deleted: removed,
	})
}

func ptr[T any](v T) *T { return &v }
