package subjects

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"
)

// UserType is Emporix's kind of user.
type UserType string

const (
	Employee UserType = "EMPLOYEE"
	Customer UserType = "CUSTOMER"
)

// UserFields are what a caller sets on a user.
type UserFields struct {
	Type              UserType
	Username          string
	Email             string
	EmailVerified     bool // an administrator says the email is the user's (OIDC email_verified)
	PhoneNumber       string
	FirstName         string
	LastName          string
	ContactEmail      string
	PreferredSite     string
	PreferredCurrency string
	PreferredLanguage string
	Department        string
	Status            string
	ValidFrom         *time.Time
	Locked            bool
	// BackofficeUserNumber is Emporix's number of a back-office user, kept as given.
	BackofficeUserNumber string
	GroupIDs             []string // direct groups; on replace they replace the current ones (nil keeps them)
}

// User is a person known to the tenant (Emporix and Aritma fields in one).
type User struct {
	Tenant string
	ID     string
	UserFields
	Version    int64
	CreatedAt  time.Time
	ModifiedAt time.Time
}

// Apply validates f and writes it onto u.
func (u *User) Apply(f UserFields) error {
	f.Username, f.Email, f.ContactEmail = strings.TrimSpace(f.Username), strings.TrimSpace(f.Email), strings.TrimSpace(f.ContactEmail)
	// Emporix creates back-office users with only a contactEmail (they confirm it and
	// set a password); any one of the three names the person.
	if f.Username == "" && f.Email == "" && f.ContactEmail == "" {
		return errs.Fields("a user needs a username, an email or a contactEmail",
			errs.FieldError{Field: "username", Message: "required when email and contactEmail are absent"},
			errs.FieldError{Field: "email", Message: "required when username and contactEmail are absent"},
			errs.FieldError{Field: "contactEmail", Message: "required when username and email are absent"})
	}
	if f.Type == "" {
		f.Type = Employee
	}
	if f.Status == "" {
		f.Status = "ACTIVE"
	}
	if f.GroupIDs == nil {
		f.GroupIDs = u.GroupIDs
	}
	seen := map[string]bool{}
	groups := make([]string, 0, len(f.GroupIDs))
	for _, g := range f.GroupIDs {
		if !seen[g] {
			seen[g] = true
			groups = append(groups, g)
		}
	}
	f.GroupIDs = groups
	u.UserFields = f
	return nil
}

// DisplayName is how the user appears among subjects.
func (u *User) DisplayName() string {
	if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
		return n
	}
	if u.Username != "" {
		return u.Username
	}
	if u.Email != "" {
		return u.Email
	}
	return u.ContactEmail
}

// Subject is the user as a subject.
func (u *User) Subject() Subject {
	return Subject{Tenant: u.Tenant, Type: TypeUser, ID: u.ID, DisplayName: u.DisplayName(),
		Properties: Properties{Username: u.Username, Email: u.Email, PhoneNumber: u.PhoneNumber}}
}

// UserQuery filters a user listing.
type UserQuery struct {
	Search string
	Type   UserType
	Offset int
	Limit  int
}

// UserStore persists users with their direct group ids.
type UserStore interface {
	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, tenant, id string) (*User, error)
	ListUsers(ctx context.Context, tenant string, q UserQuery) ([]User, int, error)
	// UpdateUser locks the user, lets change modify it (GroupIDs included) and saves it.
	UpdateUser(ctx context.Context, tenant, id string, change func(*User) error) (*User, error)
	DeleteUser(ctx context.Context, tenant, id string, check func(*User) error) error
}

// UserPage is a page of users. Groups holds each listed user's direct groups when they
// were asked for (expand=groups), and is nil otherwise.
type UserPage struct {
	Users  []User
	Total  int
	Groups map[string][]Group
}

// Users pages through users, with their direct groups if expandGroups.
func (d *Directory) Users(ctx context.Context, tenant string, q UserQuery, expandGroups bool) (*UserPage, error) {
	users, total, err := d.store.ListUsers(ctx, tenant, q)
	if err != nil {
		return nil, err
	}
	page := &UserPage{Users: users, Total: total}
	if expandGroups {
		ids := make([]string, len(users))
		for i := range users {
			ids[i] = users[i].ID
		}
		if page.Groups, err = d.store.DirectGroups(ctx, tenant, ids); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// User returns one user and, if expandGroups, its direct groups (never nil then).
func (d *Directory) User(ctx context.Context, tenant, id string, expandGroups bool) (*User, []Group, error) {
	u, err := d.store.GetUser(ctx, tenant, id)
	if err != nil || !expandGroups {
		return u, nil, err
	}
	byUser, err := d.store.DirectGroups(ctx, tenant, []string{u.ID})
	if err != nil {
		return nil, nil, err
	}
	return u, append([]Group{}, byUser[u.ID]...), nil
}

// UserKey is the stored form of a user id: user ids were UUIDs (PostgreSQL's uuid type,
// which ignores case) before callers could choose them, so a UUID is kept and looked up
// in lower case; any other id as it is.
func UserKey(id string) string {
	if _, err := uuid.Parse(id); err == nil && len(id) == 36 {
		return strings.ToLower(id)
	}
	return id
}

// ValidateUserID checks a caller-chosen user id: the subject id rule (letters, digits,
// '_' and '-', 1 to 64 of them), so that user-<id> is a subject id. A migration keeps the
// ids its users had (Emporix's are such as 00u4ukqvzlEP31sCk417).
func ValidateUserID(id string) error {
	if !validID(id) || id == "" {
		return errs.Fields("malformed user id", errs.FieldError{Field: "id", Message: "1 to 64 letters, digits, '_' or '-'"})
	}
	return nil
}

// CreateUser creates a user with its direct groups, under the id the caller chose
// (echo.ID: an import keeping its ids; a taken id is a conflict), else under a new UUID.
func (d *Directory) CreateUser(ctx context.Context, tenant string, f UserFields, echo UserEcho) (*User, error) {
	id := ""
	if echo.ID != nil {
		id = *echo.ID
	}
	if id == "" {
		id = uuid.NewString()
	} else if err := ValidateUserID(id); err != nil {
		return nil, err
	} else {
		id = UserKey(id)
	}
	u := &User{Tenant: tenant, ID: id}
	if err := u.Apply(f); err != nil {
		return nil, err
	}
	echo.ID = nil // the id it chose is the user's
	if err := echo.check(u, u.GroupIDs); err != nil {
		return nil, err
	}
	now := d.now()
	u.Version, u.CreatedAt, u.ModifiedAt = 1, now, now
	if err := d.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// ReplaceUser replaces a user's fields and direct groups, version-checked; read-only
// fields sent back must be as stored.
func (d *Directory) ReplaceUser(ctx context.Context, tenant, id string, f UserFields, echo UserEcho, pre precondition.Version) (*User, error) {
	return d.ChangeUser(ctx, tenant, id, func(u *UserFields) { *u = f }, echo, pre)
}

// ChangeUser changes the fields change sets and keeps the others (a seed's update that
// carries only some fields, as Emporix's carries no email), version-checked, with the
// same rules as a replace.
func (d *Directory) ChangeUser(ctx context.Context, tenant, id string, change func(*UserFields), echo UserEcho, pre precondition.Version) (*User, error) {
	return d.store.UpdateUser(ctx, tenant, id, func(u *User) error {
		if err := pre.Check(u.Version); err != nil {
			return err
		}
		f := u.UserFields
		f.GroupIDs = nil // kept unless change sets them
		change(&f)
		groups := f.GroupIDs
		if groups == nil {
			groups = u.GroupIDs
		}
		if err := echo.check(u, groups); err != nil {
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
	return d.store.DeleteUser(ctx, tenant, id, func(u *User) error {
		if len(u.GroupIDs) > 0 && !force {
			return errs.E(errs.Conflict, "user %q is in %d group(s); remove it from them first or pass forceDelete=true", id, len(u.GroupIDs))
		}
		return nil
	})
}
