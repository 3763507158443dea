package subjects

import (
	"context"
	"slices"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

// MaxBulkMembers bounds one membership change; it is one transaction.
const MaxBulkMembers = 10000

// MembershipStore persists direct memberships and answers from their transitive closure.
type MembershipStore interface {
	// GroupsOf lists the groups r is in, directly or through nesting.
	GroupsOf(ctx context.Context, tenant string, r Ref, transitive bool, offset, limit int) ([]Group, int, error)
	// DirectGroups returns the direct groups of each user, for expand=groups.
	DirectGroups(ctx context.Context, tenant string, userIDs []string) (map[string][]Group, error)
	// Members lists a group's members, directly or through nesting.
	Members(ctx context.Context, tenant, groupID string, transitive bool, offset, limit int) ([]Subject, int, error)

	AddMembers(ctx context.Context, tenant, groupID string, members []Ref) (int, error)
	RemoveMembers(ctx context.Context, tenant, groupID string, members []Ref) (int, error)
	RemoveAllUsers(ctx context.Context, tenant, groupID string) error
	RemoveFromAllGroups(ctx context.Context, tenant string, member Ref) error
	// GroupUsers lists a group's direct user members, by user id; with companies not
	// nil, only users directly in a group of one of those legal entities.
	GroupUsers(ctx context.Context, tenant, groupID string, companies []string, offset, limit int) ([]Assignment, int, error)
}

// Members lists a group's members, directly or through nesting.
func (d *Directory) Members(ctx context.Context, tenant, groupID string, transitive bool, offset, limit int) ([]Subject, int, error) {
	return d.store.Members(ctx, tenant, groupID, transitive, offset, limit)
}

// UserGroups lists the groups a user is in, directly or through nesting.
func (d *Directory) UserGroups(ctx context.Context, tenant, userID string, transitive bool, offset, limit int) ([]Group, int, error) {
	return d.store.GroupsOf(ctx, tenant, Ref{TypeUser, userID}, transitive, offset, limit)
}

// AddMembers adds subjects to a group; it returns the subjects named, each once, all
// members now (new or already).
func (d *Directory) AddMembers(ctx context.Context, tenant, groupID string, ids []string) ([]Ref, error) {
	refs, err := bulk(ids)
	if err != nil {
		return nil, err
	}
	if _, err := d.store.AddMembers(ctx, tenant, groupID, refs); err != nil {
		return nil, err
	}
	return refs, nil
}

// RemoveMembers removes subjects from a group.
func (d *Directory) RemoveMembers(ctx context.Context, tenant, groupID string, ids []string) (int, error) {
	refs, err := bulk(ids)
	if err != nil {
		return 0, err
	}
	return d.store.RemoveMembers(ctx, tenant, groupID, refs)
}

func bulk(ids []string) ([]Ref, error) {
	if len(ids) > MaxBulkMembers {
		return nil, errs.Fields("too many members in one change", errs.FieldError{Field: "subjectIds", Message: "at most 10000"})
	}
	return ParseIDs("subjectIds", ids)
}

// AssignUser is Emporix's PUT /groups/{g}/users/{type}/{u} and POST /groups/{g}/users:
// it reports whether the membership is new. A caller holding only
// iam.assignment_create_own assigns users of its own company only.
func (d *Directory) AssignUser(ctx context.Context, tenant, groupID string, userType UserType, userID string, caller *auth.Claims) (bool, error) {
	u, err := d.store.GetUser(ctx, tenant, userID)
	if err != nil {
		return false, err
	}
	if err := d.checkSameCompany(ctx, tenant, caller, u.ID); err != nil {
		return false, err
	}
	userID = u.ID
	if u.Type != userType {
		return false, errs.Fields("the user is of another type", errs.FieldError{Field: "userType", Message: "user " + userID + " is " + string(u.Type)})
	}
	n, err := d.store.AddMembers(ctx, tenant, groupID, []Ref{{TypeUser, userID}})
	return n == 1, err
}

// RemoveUser takes one user out of a group; a user who was not in it is no error. A
// caller holding only iam.assignment_delete_own removes users of its own company only.
func (d *Directory) RemoveUser(ctx context.Context, tenant, groupID, userID string, caller *auth.Claims) error {
	userID = UserKey(userID)
	if err := d.checkSameCompany(ctx, tenant, caller, userID); err != nil {
		return err
	}
	_, err := d.store.RemoveMembers(ctx, tenant, groupID, []Ref{{TypeUser, userID}})
	return err
}

// RemoveAllUsers takes every user out of a group; its nested groups and clients stay.
func (d *Directory) RemoveAllUsers(ctx context.Context, tenant, groupID string) error {
	return d.store.RemoveAllUsers(ctx, tenant, groupID)
}

// RemoveUserFromAllGroups takes a user out of every group it is directly in.
func (d *Directory) RemoveUserFromAllGroups(ctx context.Context, tenant, userID string) error {
	return d.store.RemoveFromAllGroups(ctx, tenant, Ref{TypeUser, UserKey(userID)})
}

// UserGroup is one of a user's direct groups (Emporix's GET /users/{u}/groups/{g}); a
// group the user is not directly in is not found.
func (d *Directory) UserGroup(ctx context.Context, tenant, userID, groupID string) (*Group, error) {
	u, err := d.store.GetUser(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(u.GroupIDs, groupID) {
		return nil, errs.E(errs.NotFound, "user %q is not in group %q", userID, groupID)
	}
	return d.store.GetGroup(ctx, tenant, groupID)
}
