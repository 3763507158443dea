package httpapi

import (
	"context"
	"errors"

	"github.com/iamplane/iam/pkg/service"

	"github.com/iamplane/iam/services/oauth-clients/api"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
)

var noStore = "no-store"

// credentials is what the request offers to authenticate its client: HTTP Basic, or
// what the form says.
func credentials(ctx context.Context, id, secret, assertionType, assertion *string) clients.Credentials {
	cr := clients.Credentials{ID: id, Secret: secret, AssertionType: assertionType, Assertion: assertion}
	if c := service.Echo(ctx); c != nil {
		cr.BasicUser, cr.BasicPassword, cr.Basic = c.Request().BasicAuth()
		cr.Address = c.RealIP()
	}
	return cr
}

// oauthError answers e as RFC 6749 §5.2 prescribes: 401 with WWW-Authenticate for
// invalid_client, 429 with Retry-After for slow_down, else 400; never cached.
func oauthError(ctx context.Context, e *clients.OAuthError) (status int, body api.OAuthError) {
	status = 400
	ec := service.Echo(ctx)
	switch e.Code {
	case "invalid_client":
		status = 401
		if ec != nil {
			ec.Response().Header().Set("WWW-Authenticate", `Basic realm="oauth2"`)
		}
	case "slow_down":
		status = 429
	}
	if ec != nil {
		ec.Response().Header().Set("Cache-Control", noStore)
	}
	return status, api.OAuthError{Error: e.Code, ErrorDescription: &e.Description}
}

// refusal splits a use case's error into the OAuth error to answer as RFC 6749 says, or
// else the error for the problem handler: any other error, or the server fault behind an
// OAuth error.
func refusal(err error) (*clients.OAuthError, error) {
	var e *clients.OAuthError
	if !errors.As(err, &e) {
		return nil, err
	}
	if e.Err != nil {
		return nil, e.Err
	}
	return e, nil
}

func slowDown(e *clients.OAuthError, body api.OAuthError) api.SlowDownJSONResponse {
	return api.SlowDownJSONResponse{Body: body, Headers: api.SlowDownResponseHeaders{RetryAfter: &e.RetryAfter}}
}

// IssueToken is the token endpoint (client_credentials, authorization_code, refresh_token).
func (s *Server) IssueToken(ctx context.Context, req api.IssueTokenRequestObject) (api.IssueTokenResponseObject, error) {
	form := req.Body
	if form == nil {
		form = &api.TokenRequest{}
	}
	tok, err := s.tokens.Issue(ctx, req.Tenant, tokens.TokenRequest{GrantType: deref(form.GrantType), Scope: deref(form.Scope),
		RefreshToken: deref(form.RefreshToken), Code: deref(form.Code), RedirectURI: deref(form.RedirectUri), CodeVerifier: deref(form.CodeVerifier),
		Credentials: credentials(ctx, form.ClientId, form.ClientSecret, form.ClientAssertionType, form.ClientAssertion)})
	e, err := refusal(err)
	if e != nil {
		switch status, body := oauthError(ctx, e); status {
		case 401:
			return api.IssueToken401JSONResponse(body), nil
		case 429:
			return api.IssueToken429JSONResponse{SlowDownJSONResponse: slowDown(e, body)}, nil
		default:
			return api.IssueToken400JSONResponse(body), nil
		}
	}
	if err != nil {
		return nil, err
	}
	return api.IssueToken200JSONResponse{
		Body: api.TokenResponse{AccessToken: tok.AccessToken, TokenType: "Bearer", ExpiresIn: tok.ExpiresIn, Scope: &tok.Scope,
			IdToken: optional(tok.IDToken), RefreshToken: optional(tok.RefreshToken)},
		Headers: api.IssueToken200ResponseHeaders{CacheControl: &noStore},
	}, nil
}

// IntrospectToken answers RFC 7662 for an authenticated client of the tenant.
func (s *Server) IntrospectToken(ctx context.Context, req api.IntrospectTokenRequestObject) (api.IntrospectTokenResponseObject, error) {
	form := req.Body
	if form == nil {
		form = &api.IntrospectionRequest{}
	}
	c, err := s.introspector.Introspect(ctx, req.Tenant, tokens.IntrospectionRequest{Token: deref(form.Token),
		Credentials: credentials(ctx, form.ClientId, form.ClientSecret, form.ClientAssertionType, form.ClientAssertion)})
	e, err := refusal(err)
	if e != nil {
		switch status, body := oauthError(ctx, e); status {
		case 401:
			return api.IntrospectToken401JSONResponse(body), nil
		case 429:
			return api.IntrospectToken429JSONResponse{SlowDownJSONResponse: slowDown(e, body)}, nil
		default:
			return api.IntrospectToken400JSONResponse(body), nil
		}
	}
	if err != nil {
		return nil, err
	}
	if c == nil {
		return api.IntrospectToken200JSONResponse{Active: false}, nil
	}
	bearer := "Bearer"
	aud := []string(c.Audience)
	return api.IntrospectToken200JSONResponse{
		Active: true, Scope: &c.Scope, ClientId: &c.ClientID, Sub: &c.Subject, Aud: &aud, Iss: &c.Issuer,
		Exp: &c.ExpiresAt, Iat: &c.IssuedAt, Jti: &c.ID, Tenant: &c.Tenant, TokenType: &bearer,
	}, nil
}

// RevokeToken is RFC 7009 revocation for an authenticated client of the tenant.
func (s *Server) RevokeToken(ctx context.Context, req api.RevokeTokenRequestObject) (api.RevokeTokenResponseObject, error) {
	form := req.Body
	if form == nil {
		form = &api.RevocationRequest{}
	}
	err := s.introspector.Revoke(ctx, req.Tenant, tokens.RevocationRequest{Token: deref(form.Token),
		Credentials: credentials(ctx, form.ClientId, form.ClientSecret, form.ClientAssertionType, form.ClientAssertion)})
	e, err := refusal(err)
	if e != nil {
		switch status, body := oauthError(ctx, e); status {
		case 401:
			return api.RevokeToken401JSONResponse(body), nil
		case 429:
			return api.RevokeToken429JSONResponse{SlowDownJSONResponse: slowDown(e, body)}, nil
		default:
			return api.RevokeToken400JSONResponse(body), nil
		}
	}
	if err != nil {
		return nil, err
	}
	return api.RevokeToken200Response{}, nil
}
