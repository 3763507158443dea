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
	GroupIDs          []string // direct groups; on replace they replace the current ones (nil keeps them)
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
	f.Username, f.Email = strings.TrimSpace(f.Username), strings.TrimSpace(f.Email)
	if f.Username == "" && f.Email == "" {
		return errs.Fields("a user needs a username or an email",
			errs.FieldError{Field: "username", Message: "required when email is absent"},
			errs.FieldError{Field: "email", Message: "required when username is absent"})
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
	return u.Email
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

// CreateUser creates a user with its direct groups.
func (d *Directory) CreateUser(ctx context.Context, tenant string, f UserFields) (*User, error) {
	now := d.now()
	u := &User{Tenant: tenant, ID: uuid.NewString(), Version: 1, CreatedAt: now, ModifiedAt: now}
	if err := u.Apply(f); err != nil {
		return nil, err
	}
	if err := d.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// ReplaceUser replaces a user's fields and direct groups, version-checked.
func (d *Directory) ReplaceUser(ctx context.Context, tenant, id string, f UserFields, pre precondition.Version) (*User, error) {
	return d.store.UpdateUser(ctx, tenant, id, func(u *User) error {
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
	return d.store.DeleteUser(ctx, tenant, id, func(u *User) error {
		if len(u.GroupIDs) > 0 && !force {
			return errs.E(errs.Conflict, "user %q is in %d group(s); remove it from them first or pass forceDelete=true", id, len(u.GroupIDs))
		}
		return nil
	})
}
