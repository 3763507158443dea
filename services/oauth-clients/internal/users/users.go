// Package users is oauth-clients' view of the people iam-subjects keeps: what userinfo
// tells a client about a person, and whether a person may still get tokens. The view is
// fed by iam-subjects' user events; nothing here calls iam-subjects.
package users

import (
	"context"
	"slices"
	"strings"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

// User is a person as iam-subjects last published them.
type User struct {
	Tenant            string
	Subject           string // user-<id>
	DisplayName       string
	Username          string
	Email             string
	EmailVerified     bool
	FirstName         string
	LastName          string
	PhoneNumber       string
	PreferredLanguage string
	Locked            bool
	// Deleted marks a tombstone: the person is gone, and so is everything else about them.
	Deleted bool
}

// IsPerson reports whether subject names a person (user-<id>) rather than a client.
func IsPerson(subject string) bool {
	id, ok := strings.CutPrefix(subject, "user-")
	return ok && id != ""
}

// Standing is what the view says about whether a person may get tokens. Known is false
// while the view has not (yet) heard of the person: the events may be behind the login,
// and every service's token check refuses a deleted or locked person's tokens anyway.
type Standing struct {
	Known, Locked, Deleted bool
}

// Refusal says why the person may not get tokens, or "" when they may.
func (s Standing) Refusal() string {
	switch {
	case s.Deleted:
		return "the user no longer exists"
	case s.Locked:
		return "the user's account is locked"
	}
	return ""
}

// Claims are OpenID Connect standard claims (Core §5.1).
type Claims struct {
	Subject           string
	Name              *string
	GivenName         *string
	FamilyName        *string
	PreferredUsername *string
	Locale            *string
	Email             *string
	EmailVerified     *bool
	PhoneNumber       *string
}

// Claims are what scopes let a client know of u (OIDC Core §5.4): profile gives the
// names, username and language, email the address and whether it was verified, phone
// the number. A claim without a value is left out rather than sent empty.
func (u *User) Claims(scopes []string) Claims {
	c := Claims{Subject: u.Subject}
	if u.Deleted {
		return c
	}
	if slices.Contains(scopes, "profile") {
		c.Name, c.GivenName, c.FamilyName = some(u.DisplayName), some(u.FirstName), some(u.LastName)
		c.PreferredUsername, c.Locale = some(u.Username), some(u.PreferredLanguage)
	}
	if slices.Contains(scopes, "email") && u.Email != "" {
		c.Email, c.EmailVerified = &u.Email, &u.EmailVerified
	}
	if slices.Contains(scopes, "phone") {
		c.PhoneNumber = some(u.PhoneNumber)
	}
	return c
}

func some(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// View reads the view of users.
type View interface {
	// User returns the person, NotFound while the view has not heard of them.
	User(ctx context.Context, tenant, subject string) (*User, error)
}

// Profiles answers the UserInfo endpoint.
type Profiles struct{ view View }

// NewProfiles answers from view.
func NewProfiles(view View) *Profiles { return &Profiles{view: view} }

// UserInfo returns the claims the caller's access token may see (OIDC Core §5.3): the
// token must be a person's and carry openid (the spec's security already asks for it).
// A person the view has not heard of yet gets sub alone, which is all OIDC requires; a
// deleted or locked person's token never gets this far (every token check refuses it).
func (p *Profiles) UserInfo(ctx context.Context, caller *auth.Claims) (Claims, error) {
	if caller == nil || !IsPerson(caller.Subject) || !caller.HasScope("openid") {
		return Claims{}, errs.E(errs.Forbidden, "userinfo needs a person's access token with the openid scope")
	}
	u, err := p.view.User(ctx, caller.Tenant, caller.Subject)
	if errs.Is(err, errs.NotFound) {
		return Claims{Subject: caller.Subject}, nil
	}
	if err != nil {
		return Claims{}, err
	}
	if u.Deleted || u.Locked {
		return Claims{}, errs.E(errs.Unauthorized, "invalid access token: %s", Standing{Known: true, Locked: u.Locked, Deleted: u.Deleted}.Refusal())
	}
	return u.Claims(caller.Scopes()), nil
}
