package signin

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/handshake"

	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
)

// LogoutRequest is an RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0
// §2).
type LogoutRequest struct {
	IDTokenHint           string
	PostLogoutRedirectURI string
	State                 string
	ClientID              string
	UILocales             string
	Repeated              []string
}

// LogoutRequestOf reads a logout request from the query string (GET) or form (POST).
func LogoutRequestOf(v url.Values) LogoutRequest {
	r := LogoutRequest{IDTokenHint: v.Get("id_token_hint"), PostLogoutRedirectURI: v.Get("post_logout_redirect_uri"),
		State: v.Get("state"), ClientID: v.Get("client_id"), UILocales: v.Get("ui_locales")}
	for name, vs := range v {
		if len(vs) > 1 {
			r.Repeated = append(r.Repeated, name)
		}
	}
	return r
}

// Logout is the end-session endpoint. An id_token_hint must be an ID token we issued
// (expired is fine: people sign out after their tokens expire); it names the client and
// the login session, and confirms the request. A post_logout_redirect_uri must be one
// the client registered, exactly, else our error page. What was issued under the hint's
// session (refresh token families and their access tokens) is revoked at once; then the
// browser goes to iam-subjects' logout page with a signed logout challenge, which ends
// the login session (asking first when nothing confirmed the request) and goes on to
// the checked redirect URI.
func (a *Authorizer) Logout(ctx context.Context, tenant string, r LogoutRequest) (*Answer, error) {
	if len(r.Repeated) > 0 || len(r.State) > maxState || len(r.UILocales) > maxUILocales {
		return refuse(errs.Invalid, TextInvalidLink)
	}
	var hint *tokens.IDClaims
	if r.IDTokenHint != "" {
		payload, err := auth.VerifyJWS(ctx, a.ownKeys, r.IDTokenHint, tokens.IDTokenType, "ID token")
		if errs.Is(err, errs.Unavailable) {
			return nil, err
		}
		// Read as any JWT may carry aud (a string or a list), though ours carry one string.
		var claims struct {
			Issuer   string        `json:"iss"`
			Subject  string        `json:"sub"`
			Audience auth.Audience `json:"aud"`
			SID      string        `json:"sid"`
		}
		if err != nil || json.Unmarshal(payload, &claims) != nil || claims.Issuer != auth.Issuer(a.base, tenant) ||
			len(claims.Audience) != 1 || claims.Subject == "" {
			return refuse(errs.Invalid, TextLogoutHint)
		}
		hint = &tokens.IDClaims{Issuer: claims.Issuer, Subject: claims.Subject, Audience: claims.Audience[0], SID: claims.SID}
	}
	clientID := r.ClientID
	if hint != nil {
		if clientID != "" && clientID != hint.Audience {
			return refuse(errs.Invalid, TextLogoutClientHint)
		}
		clientID = hint.Audience
	}
	if r.PostLogoutRedirectURI != "" && clientID == "" {
		return refuse(errs.Invalid, TextLogoutNoClient)
	}
	// A client named outright, or one whose address the browser is to go to, must exist;
	// a hint's client alone need not (signing out of a deleted application still works).
	if r.ClientID != "" || r.PostLogoutRedirectURI != "" {
		c, err := a.clients.Lookup(ctx, tenant, clientID)
		if errs.Is(err, errs.NotFound) {
			return refuse(errs.Invalid, TextUnknownClient)
		}
		if err != nil {
			return nil, err
		}
		if r.PostLogoutRedirectURI != "" && !slices.Contains(c.PostLogoutRedirectURIs, r.PostLogoutRedirectURI) {
			return refuse(errs.Invalid, TextLogoutRedirect)
		}
	}
	challenge := &handshake.LogoutChallenge{
		Header:   handshake.Header{Issuer: handshake.AuthorizeIssuer(a.base, tenant), Audience: handshake.AudienceLogin, ID: randomID(16), Tenant: tenant},
		ClientID: clientID, PostLogoutRedirectURI: r.PostLogoutRedirectURI, State: r.State, UILocales: r.UILocales,
		Confirmed: hint != nil,
	}
	if hint != nil {
		challenge.SessionID = hint.SID
		if err := a.sessions.RevokeSession(ctx, tenant, hint.SID); err != nil {
			return nil, err
		}
	}
	signed, err := handshake.Sign(ctx, a.signer, handshake.TypLogoutChallenge, challenge, a.now(), handshake.ChallengeTTL)
	if err != nil {
		return nil, err
	}
	return &Answer{Redirect: handshake.LogoutURL(a.base, tenant, signed)}, nil
}
