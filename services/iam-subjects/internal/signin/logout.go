package signin

import (
	"context"
	"net/url"
	"time"

	"github.com/iamplane/iam/pkg/handshake"
)

// LogoutForm asks the person to confirm signing out.
type LogoutForm struct {
	Challenge string // the challenge as received, for the form's hidden field
	ClientID  string
	UILocales string
}

// LogoutOutcome is what the logout page does next: ask (Confirm), or, once the session
// has ended (SignedOut: clear the cookie), send the browser to Redirect or show that the
// person is signed out.
type LogoutOutcome struct {
	Confirm   *LogoutForm
	SignedOut bool
	Redirect  string // the client's post-logout redirect URI with state; "" shows a page
	UILocales string
}

func (a *Authenticator) openLogout(ctx context.Context, tenant, token string) (*handshake.LogoutChallenge, UsedChallenge, error) {
	var ch handshake.LogoutChallenge
	if err := handshake.Open(ctx, a.challenges, token, handshake.TypLogoutChallenge, &ch,
		handshake.AuthorizeIssuer(a.base, tenant), handshake.AudienceLogin, tenant, a.now()); err != nil {
		return nil, UsedChallenge{}, err
	}
	use := UsedChallenge{Tenant: tenant, Kind: "logout", ID: ch.ID, ExpiresAt: time.Unix(ch.ExpiresAt, 0).Add(time.Minute)}
	used, err := a.store.ChallengeUsed(ctx, use)
	if err != nil {
		return nil, use, err
	}
	if used {
		return nil, use, ErrChallengeUsed
	}
	return &ch, use, nil
}

// BeginLogout answers a logout challenge (the logout page, GET). A confirmed challenge
// (the client proved the sign-in with an ID token) ends the session at once; otherwise
// the person is asked first, since a link alone must not sign anyone out.
func (a *Authenticator) BeginLogout(ctx context.Context, tenant, challenge, sessionToken string) (*LogoutOutcome, error) {
	ch, use, err := a.openLogout(ctx, tenant, challenge)
	if err != nil {
		return nil, err
	}
	if !ch.Confirmed {
		return &LogoutOutcome{UILocales: ch.UILocales,
			Confirm: &LogoutForm{Challenge: challenge, ClientID: ch.ClientID, UILocales: ch.UILocales}}, nil
	}
	return a.endSession(ctx, tenant, ch, use, sessionToken)
}

// Logout ends the session after the person confirmed it (the logout page, POST).
func (a *Authenticator) Logout(ctx context.Context, tenant, challenge, sessionToken string) (*LogoutOutcome, error) {
	ch, use, err := a.openLogout(ctx, tenant, challenge)
	if err != nil {
		return nil, err
	}
	return a.endSession(ctx, tenant, ch, use, sessionToken)
}

// endSession uses the challenge, ends the browser's session and, when the client proved
// which session it signed in with (the ID token's sid), that one too, wherever it is.
func (a *Authenticator) endSession(ctx context.Context, tenant string, ch *handshake.LogoutChallenge, use UsedChallenge, sessionToken string) (*LogoutOutcome, error) {
	if err := a.store.UseChallenge(ctx, use); err != nil {
		return nil, err
	}
	if token := tokenHash(sessionToken); token != nil {
		if err := a.store.EndSession(ctx, tenant, token); err != nil {
			return nil, err
		}
	}
	if ch.Confirmed && ch.SessionID != "" {
		if err := a.store.EndSessionByID(ctx, tenant, ch.SessionID); err != nil {
			return nil, err
		}
	}
	return &LogoutOutcome{SignedOut: true, Redirect: postLogoutRedirect(ch.PostLogoutRedirectURI, ch.State), UILocales: ch.UILocales}, nil
}

// postLogoutRedirect adds state to the post-logout redirect URI (which oauth-clients
// checked against the client's registered ones before signing the challenge). Anything
// but an absolute http(s) URI is not followed: the signed-out page is shown instead.
func postLogoutRedirect(uri, state string) string {
	if uri == "" {
		return ""
	}
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	if state != "" {
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
	}
	return u.String()
}
