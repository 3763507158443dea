package subjects

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/version"
)

// MaxBulkMembers bounds one membership change; it is one transaction.
const MaxBulkMembers = 10000

// Store persists the directory. Every write records its events in the same transaction.
// Changes that touch memberships lock the groups involved, and group nesting is
// serialized per tenant, so concurrent requests can never build a cycle.
type Store interface {
	Search(ctx context.Context, tenant string, q Query) ([]Subject, int, error)
	Get(ctx context.Context, tenant string, r Ref) (*Subject, error)
	// GroupsOf lists the groups r is in, directly or through nesting.
	GroupsOf(ctx context.Context, tenant string, r Ref, transitive bool, offset, limit int) ([]Group, int, error)
	// Members lists a group's members, directly or through nesting.
	Members(ctx context.Context, tenant, groupID string, transitive bool, offset, limit int) ([]Subject, int, error)

	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, tenant, id string) (*User, error)
	ListUsers(ctx context.Context, tenant string, q UserQuery) ([]User, int, error)
	// UpdateUser locks the user, lets change modify it (GroupIDs included) and saves it.
	UpdateUser(ctx context.Context, tenant, id string, change func(*User) error) (*User, error)
	DeleteUser(ctx context.Context, tenant, id string, check func(*User) error) error
	// DirectGroups returns the direct groups of each user, for expand=groups.
	DirectGroups(ctx context.Context, tenant string, userIDs []string) (map[string][]Group, error)

	CreateGroup(ctx context.Context, g *Group) error
	GetGroup(ctx context.Context, tenant, id string) (*Group, error)
	ListGroups(ctx context.Context, tenant string, q GroupQuery) ([]Group, int, error)
	// UpdateGroup locks the group; absent is called (to create it) when there is none.
	UpdateGroup(ctx context.Context, tenant, id string, change func(*Group) error, absent func() (*Group, error)) (g *Group, created bool, err error)
	DeleteGroup(ctx context.Context, tenant, id string, check func(g *Group, members int) error) error

	AddMembers(ctx context.Context, tenant, groupID string, members []Ref) (int, error)
	RemoveMembers(ctx context.Context, tenant, groupID string, members []Ref) (int, error)
	RemoveAllUsers(ctx context.Context, tenant, groupID string) (int, error)
	RemoveFromAllGroups(ctx context.Context, tenant string, member Ref) (int, error)
}

// Directory is iam-subjects' use cases: the rules on top of the store.
type Directory struct {
	Store Store
	Now   func() time.Time
}

func (d *Directory) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// CreateUser creates a user with its direct groups.
func (d *Directory) CreateUser(ctx context.Context, tenant string, f UserFields) (*User, error) {
	now := d.now()
	u := &User{Tenant: tenant, ID: uuid.NewString(), Version: 1, CreatedAt: now, ModifiedAt: now}
	if err := u.Apply(f); err != nil {
		return nil, err
	}
	if err := d.Store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// ReplaceUser replaces a user's fields and direct groups, version-checked.
func (d *Directory) ReplaceUser(ctx context.Context, tenant, id string, f UserFields, pre version.Precondition) (*User, error) {
	return d.Store.UpdateUser(ctx, tenant, id, func(u *User) error {
		if err := pre.Check(u.Version); err != nil {
			return err
		}
		if err := u.Apply(f); err != nil {
			return err
		}
		u.Version++
		u.ModifiedAt = d.now()
		return nil
	})
}

// DeleteUser deletes a user; one still in groups needs force.
func (d *Directory) DeleteUser(ctx context.Context, tenant, id string, force bool) error {
	return d.Store.DeleteUser(ctx, tenant, id, func(u *User) error {
		if len(u.GroupIDs) > 0 && !force {
			return errs.E(errs.Conflict, "user %q is in %d group(s); remove it from them first or pass forceDelete=true", id, len(u.GroupIDs))
		}
		return nil
	})
}

// CreateGroup creates a group with a new id.
func (d *Directory) CreateGroup(ctx context.Context, tenant string, f GroupFields) (*Group, error) {
	g, err := d.newGroup(tenant, uuid.NewString(), f)
	if err != nil {
		return nil, err
	}
	return g, d.Store.CreateGroup(ctx, g)
}

func (d *Directory) newGroup(tenant, id string, f GroupFields) (*Group, error) {
	now := d.now()
	g := &Group{Tenant: tenant, ID: id, Version: 1, CreatedAt: now, ModifiedAt: now}
	return g, g.Apply(f)
}

// UpsertGroup creates the group with this id, or replaces it if the precondition holds.
func (d *Directory) UpsertGroup(ctx context.Context, tenant, id string, f GroupFields, pre version.Precondition) (*Group, bool, error) {
	return d.Store.UpdateGroup(ctx, tenant, id, func(g *Group) error {
		if err := pre.Check(g.Version); err != nil {
			return err
		}
		if err := g.Apply(f); err != nil {
			return err
		}
		g.Version++
		g.ModifiedAt = d.now()
		return nil
	}, func() (*Group, error) {
		if pre.IfMatch != nil {
			return nil, errs.E(errs.PreconditionFailed, "group %q does not exist, so If-Match cannot match", id)
		}
		return d.newGroup(tenant, id, f)
	})
}

// DeleteGroup deletes a group; one with members needs force, and force needs a caller
// allowed to manage assignments (Emporix: iam.assignment_manage).
func (d *Directory) DeleteGroup(ctx context.Context, tenant, id string, force bool, mayManageAssignments bool) error {
	return d.Store.DeleteGroup(ctx, tenant, id, func(g *Group, members int) error {
		if members == 0 {
			return nil
		}
		if !force {
			return errs.E(errs.Conflict, "group %q has %d member(s); pass forceDelete=true to delete it with its memberships", id, members)
		}
		if !mayManageAssignments {
			return errs.E(errs.Forbidden, "deleting a group with members needs the scope iam.assignment_manage")
		}
		return nil
	})
}

// AddMembers adds subjects to a group.
func (d *Directory) AddMembers(ctx context.Context, tenant, groupID string, ids []string) (int, error) {
	refs, err := bulk(ids)
	if err != nil {
		return 0, err
	}
	return d.Store.AddMembers(ctx, tenant, groupID, refs)
}

// RemoveMembers removes subjects from a group.
func (d *Directory) RemoveMembers(ctx context.Context, tenant, groupID string, ids []string) (int, error) {
	refs, err := bulk(ids)
	if err != nil {
		return 0, err
	}
	return d.Store.RemoveMembers(ctx, tenant, groupID, refs)
}

func bulk(ids []string) ([]Ref, error) {
	if len(ids) > MaxBulkMembers {
		return nil, errs.Fields("too many members in one change", errs.FieldError{Field: "subjectIds", Message: "at most 10000"})
	}
	return ParseIDs("subjectIds", ids)
}

// AssignUser is Emporix's PUT /groups/{g}/users/{type}/{u}: it reports whether the
// membership is new.
func (d *Directory) AssignUser(ctx context.Context, tenant, groupID string, userType UserType, userID string) (bool, error) {
	u, err := d.Store.GetUser(ctx, tenant, userID)
	if err != nil {
		return false, err
	}
	if u.Type != userType {
		return false, errs.Fields("the user is of another type", errs.FieldError{Field: "userType", Message: "user " + userID + " is " + string(u.Type)})
	}
	n, err := d.Store.AddMembers(ctx, tenant, groupID, []Ref{{TypeUser, userID}})
	return n == 1, err
}
