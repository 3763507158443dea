package subjects

import (
	"context"
	"fmt"
	"slices"
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
	// AccessControls and Templates are Emporix's: ids of iam-policies' access controls and
	// templates the group's members get. Kept and published with the group (iam-policies
	// derives the group's assignments from its events), not resolved here.
	AccessControls []string
	Templates      []string
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
	var bad []errs.FieldError
	f.AccessControls, bad = policyRefs("accessControls", f.AccessControls, bad)
	f.Templates, bad = policyRefs("templates", f.Templates, bad)
	if len(bad) > 0 {
		return errs.Fields("malformed references", bad...)
	}
	g.GroupFields = f
	return nil
}

// MaxPolicyRefs bounds a group's access controls and templates.
const MaxPolicyRefs = 1000

// policyRefs checks and de-duplicates ids of iam-policies' entities, keeping their order.
func policyRefs(field string, ids []string, bad []errs.FieldError) ([]string, []errs.FieldError) {
	if len(ids) > MaxPolicyRefs {
		return nil, append(bad, errs.FieldError{Field: field, Message: fmt.Sprintf("at most %d", MaxPolicyRefs)})
	}
	out, seen := make([]string, 0, len(ids)), map[string]bool{}
	for i, id := range ids {
		if !validRef(id) {
			bad = append(bad, errs.FieldError{Field: fmt.Sprintf("%s.%d", field, i), Message: "1 to 100 letters, digits, '_', '.', ':' or '-'"})
			continue
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, bad
}

func validRef(id string) bool {
	if id == "" || len(id) > 100 {
		return false
	}
	for _, c := range id {
		if !(c == '-' || c == '_' || c == '.' || c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
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

// GroupQuery filters and orders a group listing.
type GroupQuery struct {
	Search   string
	UserType UserType
	// Name and Description match a substring of the name, or the description, in any
	// language, ignoring case (Emporix's name and description filters).
	Name        string
	Description string
	// ModifiedSince keeps groups last changed at or after it (Emporix's metadataModifiedAt).
	ModifiedSince *time.Time
	// Member keeps the groups this user is directly in (Emporix's GET /users/{u}/groups).
	Member string
	// Sort orders the page; empty is by display name.
	Sort   []SortKey
	Offset int
	Limit  int
}

// SortKey is one key of a listing's order.
type SortKey struct {
	Field      string // one of GroupSortFields
	Descending bool
}

// GroupSortFields are what groups can be sorted by.
var GroupSortFields = []string{"name", "code", "userType", "metadata.createdAt", "metadata.modifiedAt"}

// ParseSort reads Emporix's sort parameter, field[:asc|desc] separated by commas, into
// keys of the given fields; an unknown field or direction is a 400 naming param.
func ParseSort(param, sort string, fields []string) ([]SortKey, error) {
	if strings.TrimSpace(sort) == "" {
		return nil, nil
	}
	var keys []SortKey
	for _, part := range strings.Split(sort, ",") {
		field, dir, _ := strings.Cut(strings.TrimSpace(part), ":")
		if !slices.Contains(fields, field) {
			return nil, badParam(param, fmt.Sprintf("%q is not one of %s", field, strings.Join(fields, ", ")))
		}
		k := SortKey{Field: field}
		switch strings.ToLower(dir) {
		case "", "asc":
		case "desc":
			k.Descending = true
		default:
			return nil, badParam(param, fmt.Sprintf("%q is neither asc nor desc", dir))
		}
		keys = append(keys, k)
	}
	return keys, nil
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

// Groups pages through groups; a caller holding only iam.group_read_own sees CUSTOMER
// groups only.
func (d *Directory) Groups(ctx context.Context, tenant string, q GroupQuery, caller *auth.Claims) ([]Group, int, error) {
	q, err := ownGroupQuery(caller, q)
	if err != nil {
		return nil, 0, err
	}
	if q.Member != "" {
		if _, err := d.store.GetUser(ctx, tenant, q.Member); err != nil {
			return nil, 0, err
		}
	}
	return d.store.ListGroups(ctx, tenant, q)
}

// Group returns one group.
func (d *Directory) Group(ctx context.Context, tenant, id string) (*Group, error) {
	return d.store.GetGroup(ctx, tenant, id)
}

// CreateGroup creates a group under the id the caller chose (echo.ID; a taken one is a
// conflict), else under a new UUID.
func (d *Directory) CreateGroup(ctx context.Context, tenant string, f GroupFields, echo GroupEcho) (*Group, error) {
	id := ""
	if echo.ID != nil {
		id = *echo.ID
	}
	if id == "" {
		id = uuid.NewString()
	} else if !validID(id) {
		return nil, errs.Fields("malformed group id", errs.FieldError{Field: "id", Message: "1 to 64 letters, digits, '_' or '-'"})
	}
	g, err := d.newGroup(tenant, id, f, echo)
	if err != nil {
		return nil, err
	}
	return g, d.store.CreateGroup(ctx, g)
}

func (d *Directory) newGroup(tenant, id string, f GroupFields, echo GroupEcho) (*Group, error) {
	g := &Group{Tenant: tenant, ID: id}
	if err := echo.check(g, f.Description); err != nil {
		return nil, err
	}
	now := d.now()
	g.Version, g.CreatedAt, g.ModifiedAt = 1, now, now
	return g, g.Apply(f)
}

// UpsertGroup creates the group with this id, or replaces it if the precondition holds;
// read-only fields sent back must be as stored.
func (d *Directory) UpsertGroup(ctx context.Context, tenant, id string, f GroupFields, echo GroupEcho, pre precondition.Version) (*Group, bool, error) {
	return d.store.UpdateGroup(ctx, tenant, id, func(g *Group) error {
		if err := pre.Check(g.Version); err != nil {
			return err
		}
		if err := echo.check(g, f.Description); err != nil {
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
		// Where locking is optional (Emporix), version 1 on an absent group creates it as
		// version 1, as Emporix's own upsert example does.
		if pre.Body != nil && !(pre.Optional && *pre.Body == 1) {
			return nil, errs.E(errs.NotFound, "group %q does not exist; a change naming metadata.version replaces a group, "+
				"it never creates one (send the group without metadata.version to create it)", id)
		}
		return d.newGroup(tenant, id, f, echo)
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

// badParam is a malformed query parameter (400).
func badParam(param, message string) error {
	return &errs.Error{Kind: errs.BadRequest, Detail: "malformed query parameter " + param, Fields: []errs.FieldError{{Field: param, Message: message}}}
}
