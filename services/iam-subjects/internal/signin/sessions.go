package signin

import (
	"context"
	"slices"
	"time"

	"github.com/iamplane/iam/pkg/errs"
)

// Session is a browser's login session in a tenant: who signed in, when and how. The
// browser holds a random token (the cookie); the store keeps only its hash. ID is the
// session's public name (the verdicts' and ID tokens' sid), unrelated to the token, so
// that nothing that carries it can be turned into the cookie.
type Session struct {
	Tenant    string
	ID        string
	UserID    string
	AuthTime  time.Time // when the person entered their password
	AMR       []string  // how (RFC 8176): ["pwd"]
	CreatedAt time.Time
	ExpiresAt time.Time
	// UserLocked is the user's lock as the store read it with the session: a locked
	// user's session is worth nothing, even should one outlive the lock's transaction.
	UserLocked bool
}

// SessionCookie is a new session's token for the browser, and how long to keep it.
type SessionCookie struct {
	Token  string
	MaxAge time.Duration
}

// newSession starts a session for cred's user, authenticated now with a password, with a
// fresh id and token: every sign-in rotates both, so a token planted in a browser before
// it signs in (session fixation) is worth nothing after.
func (a *Authenticator) newSession(cred *Credential, now time.Time) (Session, *SessionCookie) {
	s := Session{Tenant: cred.Tenant, ID: random(16), UserID: cred.UserID, AuthTime: now, AMR: []string{"pwd"},
		CreatedAt: now, ExpiresAt: now.Add(a.sessionTTL)}
	return s, &SessionCookie{Token: random(32), MaxAge: a.sessionTTL}
}

// liveSession is the browser's session in tenant, or nil when it has none worth using:
// none, expired, or its user locked (then it is ended at once).
func (a *Authenticator) liveSession(ctx context.Context, tenant, token string, now time.Time) (*Session, error) {
	if token == "" {
		return nil, nil
	}
	s, err := a.store.Session(ctx, tenant, tokenHash(token), now)
	switch {
	case errs.Is(err, errs.NotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case s.UserLocked:
		return nil, a.store.EndSession(ctx, tenant, tokenHash(token))
	}
	return s, nil
}

// reusable reports whether s may answer a challenge without asking for the password:
// prompt=login asks again, and max_age (seconds since the password was entered) bounds
// how old the sign-in may be.
func reusable(s *Session, prompt []string, maxAge *int64, now time.Time) bool {
	if s == nil || slices.Contains(prompt, "login") {
		return false
	}
	return maxAge == nil || now.Sub(s.AuthTime) <= time.Duration(*maxAge)*time.Second
}
