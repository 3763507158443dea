// Package handshake is the contract by which a person signs in across the services
// without one service calling another (DESIGN.md, "People sign in"), after Ory Hydra's
// login and consent challenges:
//
//  1. oauth-clients validates an authorization request, keeps it, and sends the browser
//     to iam-subjects' login page with a LoginChallenge, signed with oauth-clients'
//     signing keys (the access tokens' JWKS).
//  2. iam-subjects authenticates the person (or finds their login session), marks the
//     challenge used, and sends the browser back to oauth-clients' resume endpoint with a
//     LoginVerdict signed with its own keys (published at /v1/tenants/system/login/jwks).
//  3. oauth-clients sends the browser to consent's consent page with a ConsentChallenge;
//     consent shows what must be asked (or nothing, when all is granted), records grants in
//     the privacy ledger, and sends the browser back with a ConsentVerdict signed with its
//     keys (/v1/tenants/system/consent-screen/jwks).
//  4. oauth-clients issues the code to the client's redirect URI.
//
// Logout runs the same way: oauth-clients' end-session endpoint sends the browser to
// iam-subjects with a LogoutChallenge, which ends the login session and goes on to the
// (checked) post-logout redirect URI.
//
// Each artefact is a compact JWS with its own typ, audience, tenant and a short lifetime;
// challenges are single-use at the service that accepts them (by jti), verdicts at
// oauth-clients (the authorization moves on exactly once). Verification keys are fetched
// like the access tokens' (auth.RemoteJWKS: cached, refreshed on an unknown kid), so no
// request waits on another service. Password hashes and sessions never leave iam-subjects.
package handshake

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

// The typ header of each artefact; a token of one kind is never accepted as another.
const (
	TypLoginChallenge   = "login-challenge+jwt"
	TypLoginVerdict     = "login-verdict+jwt"
	TypConsentChallenge = "consent-challenge+jwt"
	TypConsentVerdict   = "consent-verdict+jwt"
	TypLogoutChallenge  = "logout-challenge+jwt"
)

// The audience of each artefact: the service (and page) that accepts it.
const (
	AudienceLogin     = "iam-subjects/login"
	AudienceConsent   = "consent/consent-screen"
	AudienceAuthorize = "oauth-clients/authorize"
)

// Lifetimes. A challenge covers a person typing a password or reading a consent screen; a
// verdict only the redirect back.
const (
	ChallengeTTL = 10 * time.Minute
	VerdictTTL   = time.Minute
	leeway       = 5 * time.Second
)

// Errors a verdict may carry instead of an accepted result; oauth-clients passes them on
// to the client's redirect URI as the OAuth error (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
const (
	ErrLoginRequired   = "login_required"   // prompt=none and no login session
	ErrConsentRequired = "consent_required" // prompt=none and something must be asked
	ErrAccessDenied    = "access_denied"    // the person declined
)

// Header holds the registered claims every artefact carries.
type Header struct {
	Issuer    string `json:"iss"`
	Audience  string `json:"aud"`
	ID        string `json:"jti"`
	Tenant    string `json:"tenant"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

func (h *Header) header() *Header { return h }

// LoginChallenge asks iam-subjects to authenticate a person for an authorization request.
// ID is the authorization request's id at oauth-clients.
type LoginChallenge struct {
	Header
	ClientID   string `json:"client_id"`
	ClientName string `json:"client_name,omitempty"`
	// Prompt is "" , "none" (never show a page: answer ErrLoginRequired without a
	// session) or "login" (ask for the password even with a session).
	Prompt string `json:"prompt,omitempty"`
	// MaxAge, when set, is the longest time in seconds since the session's
	// authentication that may be reused (OIDC max_age); 0 means authenticate now.
	MaxAge    *int64 `json:"max_age,omitempty"`
	LoginHint string `json:"login_hint,omitempty"`
	UILocales string `json:"ui_locales,omitempty"`
}

// LoginVerdict is iam-subjects' answer to a LoginChallenge: who signed in, when and how,
// or an Error.
type LoginVerdict struct {
	Header
	Challenge string   `json:"challenge"`           // the LoginChallenge's ID
	Subject   string   `json:"sub,omitempty"`       // user-<id>
	AuthTime  int64    `json:"auth_time,omitempty"` // when the person last entered a credential
	AMR       []string `json:"amr,omitempty"`       // e.g. ["pwd"] (RFC 8176)
	// SessionID names the login session (never its cookie value), so that oauth-clients
	// can end what was issued under it at logout (OIDC sid).
	SessionID        string `json:"sid,omitempty"`
	Error            string `json:"error,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// ConsentChallenge asks consent to obtain a person's consent for a client. ID is the
// authorization request's id.
type ConsentChallenge struct {
	Header
	Subject  string `json:"sub"`
	ClientID string `json:"client_id"`
	// Scope is what may be granted, space separated: requested ∩ what the client may ask
	// ∩ what the person is entitled to.
	Scope string `json:"scope"`
	// Prompt is "", "none" (answer ErrConsentRequired rather than show a page) or
	// "consent" (show the screen even when everything is granted).
	Prompt    string `json:"prompt,omitempty"`
	UILocales string `json:"ui_locales,omitempty"`
}

// ConsentVerdict is consent's answer: the scopes granted (a subset of the challenge's),
// or an Error.
type ConsentVerdict struct {
	Header
	Challenge        string `json:"challenge"`
	Subject          string `json:"sub,omitempty"`
	ClientID         string `json:"client_id,omitempty"`
	Scope            string `json:"scope,omitempty"`
	Error            string `json:"error,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// LogoutChallenge asks iam-subjects to end the login session of the browser that brings
// it, then send it to PostLogoutRedirectURI (already checked against the client's
// registered URIs by oauth-clients) with State, or show a signed-out page when empty.
type LogoutChallenge struct {
	Header
	ClientID              string `json:"client_id,omitempty"`
	SessionID             string `json:"sid,omitempty"` // from id_token_hint, when given
	PostLogoutRedirectURI string `json:"post_logout_redirect_uri,omitempty"`
	State                 string `json:"state,omitempty"`
	UILocales             string `json:"ui_locales,omitempty"`
	// Confirmed is true when the request carried a valid id_token_hint; otherwise the
	// person is asked before being signed out (a link alone must not sign anyone out).
	Confirmed bool `json:"confirmed,omitempty"`
}

// Signer signs an artefact; keyring.Ring is one.
type Signer interface {
	SignJWT(ctx context.Context, typ string, claims any) (string, error)
}

// Claims is any of the artefacts above.
type Claims interface{ header() *Header }

// Sign fills claims' lifetime (from now, ttl) and signs it as typ.
func Sign(ctx context.Context, s Signer, typ string, claims Claims, now time.Time, ttl time.Duration) (string, error) {
	h := claims.header()
	h.IssuedAt, h.ExpiresAt = now.Unix(), now.Add(ttl).Unix()
	return s.SignJWT(ctx, typ, claims)
}

// Open verifies token as typ with keys and decodes it into claims, then checks that it is
// meant for audience, issued by issuer, for tenant, and not expired. Every failure is an
// errs.Unauthorized naming what is wrong; the pages show it as "this link is invalid or
// expired".
func Open(ctx context.Context, keys auth.KeySource, token, typ string, claims Claims,
	issuer, audience, tenant string, now time.Time) error {
	what := strings.TrimSuffix(typ, "+jwt")
	payload, err := auth.VerifyJWS(ctx, keys, token, typ, what)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(payload, claims); err != nil {
		return errs.E(errs.Unauthorized, "invalid %s: claims are not valid", what)
	}
	h := claims.header()
	switch {
	case h.Audience != audience:
		return errs.E(errs.Unauthorized, "invalid %s: not meant for %s", what, audience)
	case h.Issuer != issuer:
		return errs.E(errs.Unauthorized, "invalid %s: unexpected issuer", what)
	case h.Tenant != tenant:
		return errs.E(errs.Unauthorized, "invalid %s: issued for another tenant", what)
	case h.ID == "":
		return errs.E(errs.Unauthorized, "invalid %s: no jti", what)
	case h.ExpiresAt == 0 || now.After(time.Unix(h.ExpiresAt, 0).Add(leeway)):
		return errs.E(errs.Unauthorized, "%s expired", what)
	case h.IssuedAt > now.Add(leeway).Unix():
		return errs.E(errs.Unauthorized, "invalid %s: issued in the future", what)
	}
	return nil
}

// Issuers: who signs what. base is the platform's public base URL (service.Config
// IssuerURL); every page and endpoint below sits under it, so the browser only ever talks
// to one origin (the gateway or ingress).
func tenantBase(base, tenant string) string {
	return strings.TrimRight(base, "/") + "/v1/tenants/" + url.PathEscape(tenant)
}

// AuthorizeIssuer is the iss of challenges: the tenant's OAuth issuer.
func AuthorizeIssuer(base, tenant string) string { return auth.Issuer(base, tenant) }

// LoginIssuer is the iss of login verdicts.
func LoginIssuer(base, tenant string) string { return tenantBase(base, tenant) + "/login" }

// ConsentIssuer is the iss of consent verdicts.
func ConsentIssuer(base, tenant string) string { return tenantBase(base, tenant) + "/consent-screen" }

// LoginURL is iam-subjects' login page for challenge.
func LoginURL(base, tenant, challenge string) string {
	return tenantBase(base, tenant) + "/login?login_challenge=" + url.QueryEscape(challenge)
}

// LogoutURL is iam-subjects' logout page for challenge.
func LogoutURL(base, tenant, challenge string) string {
	return tenantBase(base, tenant) + "/login/logout?logout_challenge=" + url.QueryEscape(challenge)
}

// ConsentURL is consent's consent page for challenge.
func ConsentURL(base, tenant, challenge string) string {
	return tenantBase(base, tenant) + "/consent-screen?consent_challenge=" + url.QueryEscape(challenge)
}

// ResumeAfterLogin is where iam-subjects sends the browser with a login verdict.
func ResumeAfterLogin(base, tenant, verdict string) string {
	return tenantBase(base, tenant) + "/oauth2/authorize/resume?login_verdict=" + url.QueryEscape(verdict)
}

// ResumeAfterConsent is where consent sends the browser with a consent verdict.
func ResumeAfterConsent(base, tenant, verdict string) string {
	return tenantBase(base, tenant) + "/oauth2/authorize/resume?consent_verdict=" + url.QueryEscape(verdict)
}

// LoginJWKS and ConsentJWKS are where oauth-clients fetches the verdicts' keys by
// default (the keys are the same for every tenant; system is the path they are served at).
func LoginJWKS(base string) string { return tenantBase(base, auth.SystemTenant) + "/login/jwks" }
func ConsentJWKS(base string) string {
	return tenantBase(base, auth.SystemTenant) + "/consent-screen/jwks"
}
