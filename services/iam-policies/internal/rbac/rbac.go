// Package rbac is Emporix-style role-based access: resources and permissions carry codes,
// a role is a set of permissions (each optionally narrowed to some of its resources), an
// access control is a role on one resource, a template is a set of access controls, and
// access controls and templates are assigned to users, clients and groups. An access
// control gives the OAuth scopes `<resource code>_<permission code>`; a subject is
// entitled to the scopes of everything assigned to it or to any group it is in.
package rbac

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
	"github.com/iamplane/iam/pkg/readonly"
)

// Entry is what every RBAC entity has: a localized name and description and the
// optimistic-concurrency metadata.
type Entry struct {
	Tenant      string
	ID          string
	Name        map[string]string
	Description map[string]string
	Version     int64
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// Query filters and pages a listing. RoleID and ResourceID apply to access controls only.
type Query struct {
	Name          string
	Description   string
	ModifiedSince *time.Time
	RoleID        string
	ResourceID    string
	// Sort orders the listing (oldest first when empty, and after its keys); Language
	// picks the language name and description are sorted in (else English).
	Sort          []SortKey
	Language      string
	Offset, Limit int
}

// Collection is the storage of one kind of entity. Create refuses a clash (errs.Conflict);
// Update loads the entity locked, lets change edit it and stores the result, all in one
// transaction; Delete refuses an entity still referenced (errs.Conflict naming the
// referrers). Every write checks the ids it names (errs.Invalid naming the unknown ones)
// and republishes the entitled scope sets it may change, in its transaction.
type Collection[T any] interface {
	Create(ctx context.Context, v *T) error
	Update(ctx context.Context, tenant, id string, change func(*T) error) (*T, error)
	Delete(ctx context.Context, tenant, id string) error
	Get(ctx context.Context, tenant, id string) (*T, error)
	List(ctx context.Context, tenant string, q Query) ([]T, int, error)
}

// Store is RBAC's storage.
type Store interface {
	Resources() Collection[Resource]
	Permissions() Collection[Permission]
	Roles() Collection[Role]
	AccessControls() Collection[AccessControl]
	Templates() Collection[Template]

	// Assign stores a, unless the subject already has the same access control or
	// template, in which case a becomes the existing assignment (created false).
	Assign(ctx context.Context, a *Assignment) (created bool, err error)
	Unassign(ctx context.Context, tenant, id string) error
	ListAssignments(ctx context.Context, tenant string, q AssignmentQuery) ([]Assignment, int, error)

	// EffectiveAccessControls pages through the access controls assigned to subject or
	// any group it is in, directly or through templates; resourceID, if set, narrows
	// them to one resource.
	EffectiveAccessControls(ctx context.Context, tenant, subject, resourceID string, offset, limit int) ([]AccessControl, int, error)
	// EffectivePermissions lists the permissions those access controls give on resourceID.
	EffectivePermissions(ctx context.Context, tenant, subject, resourceID string) ([]Permission, error)
}

// Catalog is RBAC's use cases.
type Catalog struct {
	store Store
	clock func() time.Time
	newID func() string
}

// NewCatalog returns RBAC's use cases on store, stamping changes with clock and naming
// new entities and assignments with newID.
func NewCatalog(store Store, clock func() time.Time, newID func() string) *Catalog {
	return &Catalog{store: store, clock: clock, newID: newID}
}

func (c *Catalog) now() time.Time {
	return c.clock().UTC().Truncate(time.Microsecond)
}

// newEntry prepares a new entity at version 1; now is cut to PostgreSQL's microseconds,
// so the created entity reads back exactly as it was returned.
func (c *Catalog) newEntry(tenant, id string, name, description map[string]string) Entry {
	now := c.now()
	if description == nil {
		description = map[string]string{}
	}
	return Entry{Tenant: tenant, ID: id, Name: name, Description: description, Version: 1, CreatedAt: now, ModifiedAt: now}
}

// revise applies a change on top of the current entry: the precondition must name its
// version, and the read-only fields sent back must be the stored ones (scopes: the
// entry's computed scopes, access controls only); the version goes up by one.
func (c *Catalog) revise(e *Entry, pre precondition.Version, echo Echo, scopes []string, name, description map[string]string) error {
	if err := pre.Check(e.Version); err != nil {
		return err
	}
	if err := echo.check(e, scopes); err != nil {
		return err
	}
	if description == nil {
		description = map[string]string{}
	}
	e.Name, e.Description, e.Version, e.ModifiedAt = name, description, e.Version+1, c.now()
	return nil
}

// Echo is what a write sent back of an entry's read-only fields, as a GET showed them
// (read-modify-write): ignored when they equal the stored ones, refused naming each
// field when they differ. A nil field was not sent.
type Echo struct {
	ID                    *string
	CreatedAt, ModifiedAt *time.Time
	Scopes                []string // access controls only
}

func (e Echo) check(stored *Entry, scopes []string) error {
	var c readonly.Check
	c.String("id", e.ID, stored.ID)
	c.Time("metadata.createdAt", e.CreatedAt, stored.CreatedAt)
	c.Time("metadata.modifiedAt", e.ModifiedAt, stored.ModifiedAt)
	c.Set("scopes", e.Scopes, scopes)
	return c.Err()
}

// onCreate refuses read-only fields on a create: the service chooses the id and the
// instants and computes the scopes, so sending one would be silently ignored.
func (e Echo) onCreate() error {
	var bad []errs.FieldError
	if e.ID != nil {
		bad = append(bad, errs.FieldError{Field: "id", Message: "is chosen by the service"})
	}
	if e.CreatedAt != nil {
		bad = append(bad, errs.FieldError{Field: "metadata.createdAt", Message: "is set by the service"})
	}
	if e.ModifiedAt != nil {
		bad = append(bad, errs.FieldError{Field: "metadata.modifiedAt", Message: "is set by the service"})
	}
	if e.Scopes != nil {
		bad = append(bad, errs.FieldError{Field: "scopes", Message: "are computed from the role and the resource"})
	}
	return invalid("entry", bad)
}

func checkName(name map[string]string) []errs.FieldError {
	var bad []errs.FieldError
	for lang, text := range name {
		if strings.TrimSpace(text) == "" {
			bad = append(bad, errs.FieldError{Field: "name." + lang, Message: "must not be blank"})
		}
	}
	if len(name) == 0 {
		bad = append(bad, errs.FieldError{Field: "name", Message: "needs at least one language"})
	}
	return bad
}

func invalid(what string, bad []errs.FieldError) error {
	if len(bad) == 0 {
		return nil
	}
	slices.SortFunc(bad, func(a, b errs.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return errs.Fields("invalid "+what, bad...)
}

// Unknown names ids that do not exist, for a write that refers to them.
func Unknown(field, kind string, ids []string) errs.FieldError {
	return errs.FieldError{Field: field, Message: fmt.Sprintf("unknown %s: %s", kind, strings.Join(ids, ", "))}
}

// Missing lists the ids not in known, in order, once each.
func Missing[V any](ids []string, known map[string]V) []string {
	var out []string
	for _, id := range ids {
		if _, ok := known[id]; !ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Expansion says which references a read fills in.
type Expansion struct {
	Role, Resource bool // access controls
	AccessControls bool // templates
}

// ExpansionOf reads an expand parameter's names (role, resource, accessControls); nil
// expands nothing.
func ExpansionOf(names []string) Expansion {
	return Expansion{Role: slices.Contains(names, "role"), Resource: slices.Contains(names, "resource"),
		AccessControls: slices.Contains(names, "accessControls")}
}

// ParseModifiedSince reads a metadataModifiedAt filter: a date (2026-11-01) or an RFC 3339
// date-time.
func ParseModifiedSince(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	return t, err == nil
}

func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
