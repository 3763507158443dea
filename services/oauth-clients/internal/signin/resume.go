package signin

import (
	"context"
	"net/url"
	"strings"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/handshake"

	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
	"github.com/iamplane/iam/services/oauth-clients/internal/users"
)

// Verdicts is what the login and consent pages send the browser back with: exactly one of
// the two signed verdicts.
type Verdicts struct {
	Login, Consent string
	Repeated       bool
}

// reauthLeeway allows for clocks: iam-subjects stamps auth_time, we stamp the request.
const reauthLeeway = 5

// Resume takes a verdict back from the login or consent page. A verdict that does not
// verify (tampered, expired, another tenant's, of another kind or audience), belongs to
// no authorization, comes in another browser than the one that started it, or finds its
// authorization already past that step (replayed) is our error page, and changes nothing.
// A verdict carrying an error ends the authorization at the client's redirect URI with
// that error. After the login the browser goes to the consent page; after the consent
// the code goes to the client.
func (a *Authorizer) Resume(ctx context.Context, tenant string, v Verdicts, browser string) (*Answer, error) {
	switch {
	case v.Repeated, (v.Login == "") == (v.Consent == ""):
		return refuse(errs.Invalid, TextInvalidLink)
	case v.Login != "":
		return a.afterLogin(ctx, tenant, v.Login, browser)
	default:
		return a.afterConsent(ctx, tenant, v.Consent, browser)
	}
}

// open verifies a verdict and finds its authorization at stage, in this browser. A nil
// authorization comes with the refusal to answer (or an error).
func (a *Authorizer) open(ctx context.Context, tenant, token, typ string, claims handshake.Claims, keys auth.KeySource,
	issuer string, challenge func() string, stage Stage, browser string) (*Authorization, *Answer, error) {
	err := handshake.Open(ctx, keys, token, typ, claims, issuer, handshake.AudienceAuthorize, tenant, a.now())
	if errs.Is(err, errs.Unavailable) {
		return nil, nil, err // the verdicts' keys cannot be fetched: not the link's fault
	}
	if err != nil {
		a.logger.Info("sign-in verdict refused", "tenant", tenant, "reason", err.Error())
		ans, _ := refuse(errs.Invalid, TextInvalidLink)
		return nil, ans, nil
	}
	authz, err := a.store.Get(ctx, tenant, challenge())
	if errs.Is(err, errs.NotFound) {
		ans, _ := refuse(errs.Invalid, TextInvalidLink)
		return nil, ans, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !sameBrowser(browser, authz.Browser) {
		ans, _ := refuse(errs.Forbidden, TextOtherBrowser)
		return nil, ans, nil
	}
	if authz.Stage != stage {
		ans, _ := refuse(errs.Invalid, TextUsedLink)
		return nil, ans, nil
	}
	if !a.now().Before(authz.ExpiresAt) {
		ans, _ := refuse(errs.Invalid, TextInvalidLink)
		return nil, ans, nil
	}
	return authz, nil, nil
}

// ended ends authz and sends the browser to the client with code; a verdict replayed
// meanwhile finds it ended (and is our error page).
func (a *Authorizer) ended(ctx context.Context, authz *Authorization, code, description string) (*Answer, error) {
	ok, err := a.store.End(ctx, authz)
	if err != nil {
		return nil, err
	}
	if !ok {
		return refuse(errs.Invalid, TextUsedLink)
	}
	return a.errorRedirect(authz.Tenant, authz.RedirectURI, code, description, authz.State), nil
}

// verdictError is the OAuth error a verdict carries, as it may be passed on.
func verdictError(code string) string {
	if !errorCode.MatchString(code) {
		return handshake.ErrAccessDenied
	}
	return code
}

func (a *Authorizer) afterLogin(ctx context.Context, tenant, token, browser string) (*Answer, error) {
	var v handshake.LoginVerdict
	authz, ans, err := a.open(ctx, tenant, token, handshake.TypLoginVerdict, &v, a.loginKeys,
		handshake.LoginIssuer(a.base, tenant), func() string { return v.Challenge }, AtLogin, browser)
	if authz == nil {
		return ans, err
	}
	if v.Error != "" {
		return a.ended(ctx, authz, verdictError(v.Error), v.ErrorDescription)
	}
	if !users.IsPerson(v.Subject) || v.AuthTime == 0 {
		a.logger.Warn("login verdict without a person or auth_time", "tenant", tenant, "subject", v.Subject)
		return refuse(errs.Invalid, TextInvalidLink)
	}
	// The login page must have authenticated anew when asked to (OIDC Core §3.1.2.1:
	// prompt=login, max_age); we check what it says it did.
	p, _ := parsePrompt(authz.Prompt)
	var since int64 // the oldest auth_time that will do; 0: any
	switch {
	case p.login:
		since = authz.CreatedAt.Unix() - reauthLeeway
	case authz.MaxAge != nil:
		since = authz.CreatedAt.Unix() - *authz.MaxAge - reauthLeeway
	}
	if v.AuthTime < since {
		return a.ended(ctx, authz, handshake.ErrLoginRequired, "the person was not authenticated recently enough")
	}
	c, err := a.clients.Lookup(ctx, tenant, authz.ClientID)
	if errs.Is(err, errs.NotFound) {
		return refuse(errs.Invalid, TextUnknownClient)
	}
	if err != nil {
		return nil, err
	}
	entitled, err := a.entitled.Scopes(ctx, tenant, v.Subject)
	if err != nil {
		return nil, err
	}
	offered := tokens.Narrow(strings.Fields(authz.Scope), c.Scopes, entitled)
	authz.Subject, authz.AuthTime, authz.AMR, authz.SID = v.Subject, v.AuthTime, v.AMR, v.SessionID
	authz.Offered = strings.Join(offered, " ")
	if len(offered) == 0 {
		return a.ended(ctx, authz, handshake.ErrAccessDenied, "the person is entitled to none of the requested scopes")
	}
	ok, err := a.store.LoggedIn(ctx, authz)
	if err != nil {
		return nil, err
	}
	if !ok {
		return refuse(errs.Invalid, TextUsedLink)
	}
	challenge := &handshake.ConsentChallenge{
		Header:  handshake.Header{Issuer: handshake.AuthorizeIssuer(a.base, tenant), Audience: handshake.AudienceConsent, ID: authz.ID, Tenant: tenant},
		Subject: authz.Subject, ClientID: authz.ClientID, Scope: authz.Offered, Prompt: p.consentPrompt(), UILocales: authz.UILocales,
	}
	signed, err := handshake.Sign(ctx, a.signer, handshake.TypConsentChallenge, challenge, a.now(), handshake.ChallengeTTL)
	if err != nil {
		return nil, err
	}
	return &Answer{Redirect: handshake.ConsentURL(a.base, tenant, signed)}, nil
}

func (a *Authorizer) afterConsent(ctx context.Context, tenant, token, browser string) (*Answer, error) {
	var v handshake.ConsentVerdict
	authz, ans, err := a.open(ctx, tenant, token, handshake.TypConsentVerdict, &v, a.consentKeys,
		handshake.ConsentIssuer(a.base, tenant), func() string { return v.Challenge }, AtConsent, browser)
	if authz == nil {
		return ans, err
	}
	if v.Error != "" {
		return a.ended(ctx, authz, verdictError(v.Error), v.ErrorDescription)
	}
	if v.Subject != authz.Subject || v.ClientID != authz.ClientID {
		a.logger.Warn("consent verdict for another person or client", "tenant", tenant, "authorization", authz.ID)
		return refuse(errs.Invalid, TextInvalidLink)
	}
	granted := tokens.Intersect(strings.Fields(v.Scope), strings.Fields(authz.Offered))
	value, code := tokens.NewCode(tokens.Code{Tenant: tenant, ClientID: authz.ClientID, RedirectURI: authz.RedirectURI,
		Challenge: authz.Challenge, Nonce: authz.Nonce, Scope: strings.Join(granted, " "), Subject: authz.Subject,
		AuthTime: authz.AuthTime, AMR: authz.AMR, SID: authz.SID}, a.now())
	ok, err := a.store.Consented(ctx, authz, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		return refuse(errs.Invalid, TextUsedLink)
	}
	q := url.Values{"code": {value}, "iss": {auth.Issuer(a.base, tenant)}}
	if authz.State != "" {
		q.Set("state", authz.State)
	}
	return &Answer{Redirect: withParams(authz.RedirectURI, q)}, nil
}
