package signin

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/handshake"
)

// Failure is why the sign-in form is shown again.
type Failure int

const (
	// NoFailure: the form is shown for the first time.
	NoFailure Failure = iota
	// WrongCredentials: the username or the password is wrong (never which).
	WrongCredentials
	// MustWait: too many wrong passwords for this user from this address; the password
	// was not checked.
	MustWait
)

// Form is the sign-in form to show for a challenge.
type Form struct {
	Challenge  string // the challenge as received, for the form's hidden field
	ClientName string // the application asking
	Username   string // prefilled: the login_hint, or what was typed
	UILocales  string
	Failure    Failure
	Wait       time.Duration // with MustWait
}

// Outcome is what the login page does next: send the browser on (Redirect, with a new
// session's cookie when one started), or show the form, or say that the account is
// locked.
type Outcome struct {
	Redirect string // oauth-clients' resume endpoint with a signed verdict
	Session  *SessionCookie
	Form     *Form
	// Locked: the right password, but the account is locked (isAccountLocked).
	Locked    bool
	UILocales string
}

// openLogin verifies a login challenge for tenant and that it has not been used.
func (a *Authenticator) openLogin(ctx context.Context, tenant, token string) (*handshake.LoginChallenge, UsedChallenge, error) {
	var ch handshake.LoginChallenge
	if err := handshake.Open(ctx, a.challenges, token, handshake.TypLoginChallenge, &ch,
		handshake.AuthorizeIssuer(a.base, tenant), handshake.AudienceLogin, tenant, a.now()); err != nil {
		return nil, UsedChallenge{}, err
	}
	use := UsedChallenge{Tenant: tenant, Kind: "login", ID: ch.ID, ExpiresAt: time.Unix(ch.ExpiresAt, 0).Add(time.Minute)}
	used, err := a.store.ChallengeUsed(ctx, use)
	if err != nil {
		return nil, use, err
	}
	if used {
		return nil, use, ErrChallengeUsed
	}
	return &ch, use, nil
}

// Begin answers a login challenge (the login page, GET). With a login session of the
// tenant that the challenge lets count (prompt is not login, max_age allows), the
// challenge is accepted at once; with prompt=none and no such session it is answered
// login_required; otherwise the form is to be shown. sessionToken is the browser's
// session cookie ("" when it has none).
func (a *Authenticator) Begin(ctx context.Context, tenant, challenge, sessionToken string) (*Outcome, error) {
	ch, use, err := a.openLogin(ctx, tenant, challenge)
	if err != nil {
		return nil, err
	}
	now := a.now()
	prompt := strings.Fields(ch.Prompt)
	s, err := a.liveSession(ctx, tenant, sessionToken, now)
	if err != nil {
		return nil, err
	}
	if reusable(s, prompt, ch.MaxAge, now) {
		if err := a.store.UseChallenge(ctx, use); err != nil {
			return nil, err
		}
		return a.accept(ctx, tenant, ch, handshake.LoginVerdict{Subject: "user-" + s.UserID,
			AuthTime: s.AuthTime.Unix(), AMR: s.AMR, SessionID: s.ID}, nil)
	}
	if slices.Contains(prompt, "none") {
		if err := a.store.UseChallenge(ctx, use); err != nil {
			return nil, err
		}
		return a.accept(ctx, tenant, ch, handshake.LoginVerdict{Error: handshake.ErrLoginRequired,
			ErrorDescription: "the person is not signed in"}, nil)
	}
	return &Outcome{UILocales: ch.UILocales, Form: &Form{Challenge: challenge, ClientName: clientName(ch),
		Username: ch.LoginHint, UILocales: ch.UILocales}}, nil
}

// maxLoginLength bounds what is looked up: no username (200) or email (320) is longer.
const maxLoginLength = 320

// Attempt is a submitted sign-in form.
type Attempt struct {
	Tenant    string
	Challenge string
	Login     string // username or email
	Password  string
	Address   string // the caller's address, for throttling
	// SessionToken is the browser's current session cookie, ended when the new one starts.
	SessionToken string
}

// Login checks a submitted sign-in form (the login page, POST). The right password
// accepts the challenge (once), starts a new login session in place of the browser's
// previous one and sends the browser on with a verdict; a wrong one shows the form again
// with a failure that never says whether the user exists, the challenge unused. A locked
// account is said to be locked only to whoever gave its right password.
func (a *Authenticator) Login(ctx context.Context, at Attempt) (*Outcome, error) {
	ch, use, err := a.openLogin(ctx, at.Tenant, at.Challenge)
	if err != nil {
		return nil, err
	}
	login := strings.TrimSpace(at.Login)
	form := &Form{Challenge: at.Challenge, ClientName: clientName(ch), Username: login, UILocales: ch.UILocales}
	again := func(f Failure, wait time.Duration) (*Outcome, error) {
		form.Failure, form.Wait = f, wait
		return &Outcome{Form: form, UILocales: ch.UILocales}, nil
	}
	if login == "" || at.Password == "" {
		return again(WrongCredentials, 0)
	}
	var cred *Credential // nil: no such user
	if len(login) <= maxLoginLength {
		cred, err = a.store.CredentialByLogin(ctx, at.Tenant, login)
		if errs.Is(err, errs.NotFound) {
			cred, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	now := a.now()
	attempt, wait := a.throttle.Begin(at.Tenant, throttlePrincipal(cred, login), at.Address, now)
	if wait > 0 {
		return again(MustWait, wait)
	}
	if !a.verifyPassword(ctx, cred, normalize(at.Password)) {
		attempt.Failed(a.now())
		return again(WrongCredentials, 0)
	}
	attempt.Succeeded()
	if cred.Locked {
		return &Outcome{Locked: true, UILocales: ch.UILocales}, nil
	}
	s, cookie := a.newSession(cred, now)
	err = a.store.StartSession(ctx, use, tokenHash(at.SessionToken), s, tokenHash(cookie.Token))
	if errors.Is(err, ErrAccountLocked) { // locked since its credential was read
		return &Outcome{Locked: true, UILocales: ch.UILocales}, nil
	}
	if err != nil {
		return nil, err
	}
	return a.accept(ctx, at.Tenant, ch, handshake.LoginVerdict{Subject: cred.Subject(), AuthTime: s.AuthTime.Unix(),
		AMR: s.AMR, SessionID: s.ID}, cookie)
}

// accept signs v as the answer to ch and sends the browser to oauth-clients with it.
func (a *Authenticator) accept(ctx context.Context, tenant string, ch *handshake.LoginChallenge, v handshake.LoginVerdict, cookie *SessionCookie) (*Outcome, error) {
	v.Header = handshake.Header{Issuer: handshake.LoginIssuer(a.base, tenant), Audience: handshake.AudienceAuthorize,
		ID: random(16), Tenant: tenant}
	v.Challenge = ch.ID
	token, err := handshake.Sign(ctx, a.verdicts, handshake.TypLoginVerdict, &v, a.now(), handshake.VerdictTTL)
	if err != nil {
		return nil, err
	}
	return &Outcome{Redirect: handshake.ResumeAfterLogin(a.base, tenant, token), Session: cookie, UILocales: ch.UILocales}, nil
}

func clientName(ch *handshake.LoginChallenge) string {
	if ch.ClientName != "" {
		return ch.ClientName
	}
	return ch.ClientID
}

// IsChallengeUsed reports whether err says a challenge was used before.
func IsChallengeUsed(err error) bool { return errors.Is(err, ErrChallengeUsed) }
