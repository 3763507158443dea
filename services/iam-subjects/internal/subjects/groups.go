package subjects

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/localize"
	"github.com/iamplane/iam/pkg/precondition"
)

// GroupFields are what a caller sets on a group: Aritma's displayName and Emporix's
// localized name and description, code, userType and B2B legal entity.
type GroupFields struct {
	DisplayName   string
	Name          map[string]string
	Description   map[string]string
	Code          string
	UserType      UserType
	LegalEntityID string
}

// Group is a set of subjects; it may contain other groups.
type Group struct {
	Tenant string
	ID     string
	GroupFields
	MemberCount int
	Version     int64
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// Apply validates f and writes it onto g. A displayName alone becomes the English name;
// a name alone gives the displayName (English, else the first language).
func (g *Group) Apply(f GroupFields) error {
	f.DisplayName = strings.TrimSpace(f.DisplayName)
	if f.DisplayName == "" && len(f.Name) == 0 {
		return errs.Fields("a group needs a name",
			errs.FieldError{Field: "displayName", Message: "required when name is absent"},
			errs.FieldError{Field: "name", Message: "required when displayName is absent"})
	}
	if len(f.Name) == 0 {
		f.Name = map[string]string{"en": f.DisplayName}
	}
	if f.DisplayName == "" {
		f.DisplayName = Localize(f.Name, "")
	}
	if f.Description == nil {
		f.Description = map[string]string{}
	}
	g.GroupFields = f
	return nil
}

// Subject is the group as a subject.
func (g *Group) Subject() Subject {
	n := int32(g.MemberCount)
	return Subject{Tenant: g.Tenant, Type: TypeGroup, ID: g.ID, DisplayName: g.DisplayName,
		Properties: Properties{Description: Localize(g.Description, ""), MemberCount: &n}}
}

// Localize picks the text for an Accept-Language header (see localize.Pick).
func Localize(m map[string]string, acceptLanguage string) string {
	return localize.Pick(m, acceptLanguage)
}

// GroupQuery filters a group listing.
type GroupQuery struct {
	Search   string
	UserType UserType
	Offset   int
	Limit    int
}

// GroupStore persists groups.
type GroupStore interface {
	CreateGroup(ctx context.Context, g *Group) error
	GetGroup(ctx context.Context, tenant, id string) (*Group, error)
	ListGroups(ctx context.Context, tenant string, q GroupQuery) ([]Group, int, error)
	// UpdateGroup locks the group; absent is called (to create it) when there is none.
	UpdateGroup(ctx context.Context, tenant, id string, change func(*Group) error, absent func() (*Group, error)) (g *Group, created bool, err error)
	DeleteGroup(ctx context.Context, tenant, id string, check func(g *Group, members int) error) error
}

// Groups pages through groups.
func (d *Directory) Groups(ctx context.Context, tenant string, q GroupQuery) ([]Group, int, error) {
	return d.store.ListGroups(ctx, tenant, q)
}

// Group returns one group.
func (d *Directory) Group(ctx context.Context, tenant, id string) (*Group, error) {
	return d.store.GetGroup(ctx, tenant, id)
}

// CreateGroup creates a group with a new id.
func (d *Directory) CreateGroup(ctx context.Context, tenant string, f GroupFields) (*Group, error) {
	g, err := d.newGroup(tenant, uuid.NewString(), f)
	if err != nil {
		return nil, err
	}
	return g, d.store.CreateGroup(ctx, g)
}

func (d *Directory) newGroup(tenant, id string, f GroupFields) (*Group, error) {
	now := d.now()
	g := &Group{Tenant: tenant, ID: id, Version: 1, CreatedAt: now, ModifiedAt: now}
	return g, g.Apply(f)
}

// UpsertGroup creates the group with this id, or replaces it if the precondition holds.
func (d *Directory) UpsertGroup(ctx context.Context, tenant, id string, f GroupFields, pre precondition.Version) (*Group, bool, error) {
	return d.store.UpdateGroup(ctx, tenant, id, func(g *Group) error {
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
		// A change naming a version replaces what it read; the group is gone (deleted a
		// moment ago, say), so bringing it back empty would undo that delete.
		if pre.IfMatch != nil {
			return nil, errs.E(errs.PreconditionFailed, "group %q does not exist, so If-Match cannot match", id)
		}
		if pre.Body != nil {
			return nil, errs.E(errs.NotFound, "group %q does not exist; a change naming metadata.version replaces a group, "+
				"it never creates one (send the group without metadata.version to create it)", id)
		}
		return d.newGroup(tenant, id, f)
	})
}

// DeleteGroup deletes a group; one with members needs force, and force needs a caller
// allowed to manage assignments (Emporix: iam.assignment_manage, or the admin scope).
func (d *Directory) DeleteGroup(ctx context.Context, tenant, id string, force bool, caller *auth.Claims) error {
	mayManageAssignments := caller != nil && (caller.HasScope(auth.AdminScope) || caller.HasScope("iam.assignment_manage"))
	return d.store.DeleteGroup(ctx, tenant, id, func(g *Group, members int) error {
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
