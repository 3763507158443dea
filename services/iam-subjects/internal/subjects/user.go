package subjects

import (
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"
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
