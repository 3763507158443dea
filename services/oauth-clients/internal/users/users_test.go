package users

import (
	"context"
	"testing"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

func TestClaimsByScope(t *testing.T) {
	u := &User{Subject: "user-1", DisplayName: "Kari Nordmann", FirstName: "Kari", LastName: "Nordmann", Username: "kari",
		Email: "kari@example.com", EmailVerified: true, PhoneNumber: "+47", PreferredLanguage: "nb"}
	for _, c := range []struct {
		name                               string
		scopes                             []string
		profile, email, phone, onlySubject bool
	}{
		{"openid alone", []string{"openid"}, false, false, false, true},
		{"profile", []string{"openid", "profile"}, true, false, false, false},
		{"email", []string{"openid", "email"}, false, true, false, false},
		{"phone", []string{"openid", "phone"}, false, false, true, false},
		{"all", []string{"openid", "profile", "email", "phone"}, true, true, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := u.Claims(c.scopes)
			if got.Subject != "user-1" {
				t.Fatalf("sub %q", got.Subject)
			}
			if (got.Name != nil) != c.profile || (got.GivenName != nil) != c.profile || (got.FamilyName != nil) != c.profile ||
				(got.PreferredUsername != nil) != c.profile || (got.Locale != nil) != c.profile {
				t.Fatalf("profile claims %+v", got)
			}
			if (got.Email != nil) != c.email || (got.EmailVerified != nil) != c.email || (got.PhoneNumber != nil) != c.phone {
				t.Fatalf("email/phone claims %+v", got)
			}
		})
	}
	empty := (&User{Subject: "user-2"}).Claims([]string{"profile", "email", "phone"})
	if empty.Name != nil || empty.Email != nil || empty.EmailVerified != nil || empty.PhoneNumber != nil {
		t.Fatalf("claims without values are sent: %+v", empty)
	}
}

func TestStandingRefusal(t *testing.T) {
	for s, refused := range map[Standing]bool{{}: false, {Known: true}: false, {Known: true, Locked: true}: true, {Known: true, Deleted: true}: true} {
		if (s.Refusal() != "") != refused {
			t.Errorf("%+v: refusal %q", s, s.Refusal())
		}
	}
}

type view map[string]*User

func (v view) User(_ context.Context, _, subject string) (*User, error) {
	if u, ok := v[subject]; ok {
		return u, nil
	}
	return nil, errs.E(errs.NotFound, "no %s", subject)
}

func TestUserInfoNeedsAPersonWithOpenID(t *testing.T) {
	p := NewProfiles(view{"user-1": {Subject: "user-1", Email: "a@b.c"}, "user-2": {Subject: "user-2", Locked: true}})
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		caller *auth.Claims
		kind   errs.Kind
	}{
		{"a person with openid", &auth.Claims{Subject: "user-1", Scope: "openid email"}, ""},
		{"not yet in the view: sub alone", &auth.Claims{Subject: "user-9", Scope: "openid"}, ""},
		{"no openid", &auth.Claims{Subject: "user-1", Scope: "email"}, errs.Forbidden},
		{"a client", &auth.Claims{Subject: "client-1", Scope: "openid"}, errs.Forbidden},
		{"locked", &auth.Claims{Subject: "user-2", Scope: "openid"}, errs.Unauthorized},
	} {
		_, err := p.UserInfo(ctx, c.caller)
		if (c.kind == "") != (err == nil) || (err != nil && errs.KindOf(err) != c.kind) {
			t.Errorf("%s: %v, want %q", c.name, err, c.kind)
		}
	}
}
