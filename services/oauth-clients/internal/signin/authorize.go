package signin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/handshake"

	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
)

// Authorize is the authorization endpoint. The client and its redirect URI come first:
// until both are known good, every failure is our error page, because redirecting would
// send the browser (and the error) to an address nobody registered. After that, failures
// go to the redirect URI as RFC 6749 errors with state and iss. A valid request is kept
// as an authorization bound to this browser (browser is the cookie's value, "" when it
// has none yet) and the browser goes to the login page with a signed login challenge.
func (a *Authorizer) Authorize(ctx context.Context, tenant string, r Request, browser string) (*Answer, error) {
	if r.repeated("client_id", "redirect_uri") != "" {
		return refuse(errs.Invalid, TextRepeated)
	}
	if r.ClientID == "" {
		return refuse(errs.Invalid, TextNoClient)
	}
	c, err := a.clients.Lookup(ctx, tenant, r.ClientID)
	if errs.Is(err, errs.NotFound) {
		return refuse(errs.Invalid, TextUnknownClient)
	}
	if err != nil {
		return nil, err
	}
	if r.RedirectURI == "" {
		return refuse(errs.Invalid, TextNoRedirect)
	}
	// Exact string comparison (OAuth 2.1 §4.1.1, RFC 9700 §4.1.3): no prefix, no
	// normalisation, no other port, path, query or user information.
	if !slices.Contains(c.RedirectURIs, r.RedirectURI) {
		return refuse(errs.Invalid, TextWrongRedirect)
	}
	if code, desc := r.check(c.Scopes, c.GrantTypes, c.ResponseTypes); code != "" {
		return a.errorRedirect(tenant, r.RedirectURI, code, desc, r.State), nil
	}
	p, _ := parsePrompt(r.Prompt)
	maxAge, _ := parseMaxAge(r.MaxAge)
	if browser == "" || len(browser) > 64 {
		browser = randomID(16)
	}
	now := a.now()
	authz := &Authorization{
		Tenant: tenant, ID: randomID(16), ClientID: c.ID, RedirectURI: r.RedirectURI,
		Scope: strings.Join(tokens.Intersect(strings.Fields(r.Scope), c.Scopes), " "), State: r.State, Nonce: r.Nonce,
		Challenge: r.CodeChallenge, Prompt: r.Prompt, MaxAge: maxAge, LoginHint: r.LoginHint, UILocales: r.UILocales,
		Browser: tokens.HashOf(browser), Stage: AtLogin, CreatedAt: now, ExpiresAt: now.Add(handshake.ChallengeTTL),
	}
	if err := a.store.Create(ctx, authz); err != nil {
		return nil, err
	}
	challenge := &handshake.LoginChallenge{
		Header:   handshake.Header{Issuer: handshake.AuthorizeIssuer(a.base, tenant), Audience: handshake.AudienceLogin, ID: authz.ID, Tenant: tenant},
		ClientID: c.ID, ClientName: c.Name, Prompt: p.loginPrompt(), MaxAge: maxAge, LoginHint: r.LoginHint, UILocales: r.UILocales,
	}
	signed, err := handshake.Sign(ctx, a.signer, handshake.TypLoginChallenge, challenge, now, handshake.ChallengeTTL)
	if err != nil {
		return nil, err
	}
	return &Answer{Redirect: handshake.LoginURL(a.base, tenant, signed), Browser: browser}, nil
}

// randomID is n random bytes, base64url.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
