package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/service"

	"github.com/iamplane/iam/services/oauth-clients/api"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
)

var noStore = "no-store"

// presented is what a request to an OAuth endpoint offers to authenticate its client.
type presented struct {
	id, secret, assertionType, assertion *string
}

// authenticateClient applies RFC 6749 §2.3 and RFC 7523 §2.2: credentials in HTTP Basic
// (form-urlencoded id and secret), in the form, or as a signed client assertion, exactly
// one of them, and only by the method the client registered. Failures count towards the
// brute-force limits and are logged, never with the presented secret or assertion; past
// a limit, credentials are not even checked.
func (s *Server) authenticateClient(ctx context.Context, tenant, endpoint string, p presented) (*clients.Client, *tokens.OAuthError) {
	var id, secret, method string
	basicUser, basicPass, hasBasic := "", "", false
	addr := ""
	if c := service.Echo(ctx); c != nil {
		basicUser, basicPass, hasBasic = c.Request().BasicAuth()
		addr = c.RealIP()
	}
	methods := 0
	for _, present := range []bool{hasBasic, p.secret != nil, p.assertion != nil || p.assertionType != nil} {
		if present {
			methods++
		}
	}
	switch {
	case methods > 1:
		return nil, &tokens.OAuthError{Code: "invalid_request", Description: "use one client authentication method, not several"}
	case hasBasic:
		var err1, err2 error
		id, err1 = url.QueryUnescape(basicUser)
		secret, err2 = url.QueryUnescape(basicPass)
		if err1 != nil || err2 != nil {
			return nil, &tokens.OAuthError{Code: "invalid_request", Description: "malformed Basic credentials"}
		}
		method = "client_secret_basic"
	case p.secret != nil:
		id, secret, method = deref(p.id), *p.secret, "client_secret_post"
	case methods == 1:
		if deref(p.assertionType) != clients.AssertionType || deref(p.assertion) == "" {
			return nil, &tokens.OAuthError{Code: "invalid_request", Description: "client_assertion_type must be " + clients.AssertionType + ", with a client_assertion"}
		}
		method = "private_key_jwt"
		// The claimed client, unverified: what the limits count against. client_id is
		// optional with an assertion, but must agree when given (RFC 7521 §4.2).
		id = clients.AssertionSubject(*p.assertion)
		if p.id != nil && *p.id != id {
			return nil, &tokens.OAuthError{Code: "invalid_client", Description: "client_id does not match the assertion"}
		}
	default:
		return nil, &tokens.OAuthError{Code: "invalid_client", Description: "client authentication is required"}
	}
	now := time.Now()
	if wait := s.Limiter.Check(tenant, id, addr, now); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		s.Logger.Warn("client authentication refused: too many failures", "tenant", tenant, "clientId", id,
			"address", addr, "endpoint", endpoint, "retryAfter", secs)
		return nil, &tokens.OAuthError{Code: "slow_down", RetryAfter: secs,
			Description: fmt.Sprintf("too many failed client authentications; retry after %d seconds", secs)}
	}
	fail := func(clientID, reason string, e *tokens.OAuthError) (*clients.Client, *tokens.OAuthError) {
		s.Limiter.Fail(tenant, clientID, addr, now)
		s.Logger.Warn("client authentication failed", "tenant", tenant, "clientId", clientID, "address", addr,
			"endpoint", endpoint, "method", method, "reason", reason)
		return nil, e
	}
	invalid := &tokens.OAuthError{Code: "invalid_client", Description: "client authentication failed"}
	var c *clients.Client
	var err error
	if method == "private_key_jwt" {
		iss := auth.Issuer(s.IssuerBase, tenant)
		c, err = s.Clients.AuthenticateAssertion(ctx, tenant, *p.assertion, []string{iss + "/oauth2/token", iss, iss + "/oauth2/" + endpoint})
		var ae *clients.AssertionError
		if errors.As(err, &ae) {
			return fail(id, ae.Reason, invalid)
		}
	} else {
		c, err = s.Clients.Authenticate(ctx, tenant, id, secret)
		if errs.Is(err, errs.Unauthorized) {
			return fail(id, "unknown client or wrong, expired or revoked secret", invalid)
		}
	}
	if err != nil {
		return nil, &tokens.OAuthError{Code: "server_error", Description: "client authentication is unavailable", Err: err}
	}
	if c.TokenEndpointAuthMethod != method {
		return fail(id, "method "+method+" not registered", &tokens.OAuthError{Code: "invalid_client", Description: "the client is registered for " + c.TokenEndpointAuthMethod})
	}
	return c, nil
}

// oauthError answers e as RFC 6749 §5.2 prescribes: 401 with WWW-Authenticate for
// invalid_client, 429 with Retry-After for slow_down, else 400; never cached.
func oauthError(ctx context.Context, e *tokens.OAuthError) (status int, body api.OAuthError) {
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

func slowDown(e *tokens.OAuthError, body api.OAuthError) api.SlowDownJSONResponse {
	return api.SlowDownJSONResponse{Body: body, Headers: api.SlowDownResponseHeaders{RetryAfter: &e.RetryAfter}}
}

// IssueToken is the token endpoint (client_credentials).
func (s *Server) IssueToken(ctx context.Context, req api.IssueTokenRequestObject) (api.IssueTokenResponseObject, error) {
	fail := func(e *tokens.OAuthError) (api.IssueTokenResponseObject, error) {
		if e.Err != nil {
			return nil, e.Err
		}
		switch status, body := oauthError(ctx, e); status {
		case 401:
			return api.IssueToken401JSONResponse(body), nil
		case 429:
			return api.IssueToken429JSONResponse{SlowDownJSONResponse: slowDown(e, body)}, nil
		default:
			return api.IssueToken400JSONResponse(body), nil
		}
	}
	form := req.Body
	if form == nil {
		form = &api.TokenRequest{}
	}
	grant := deref(form.GrantType)
	switch grant {
	case "":
		return fail(&tokens.OAuthError{Code: "invalid_request", Description: "grant_type is required"})
	case "client_credentials", "refresh_token":
	default:
		return fail(&tokens.OAuthError{Code: "unsupported_grant_type", Description: "grant_type " + grant + " is not supported"})
	}
	c, oerr := s.authenticateClient(ctx, req.Tenant, "token", presented{form.ClientId, form.ClientSecret, form.ClientAssertionType, form.ClientAssertion})
	if oerr != nil {
		return fail(oerr)
	}
	var tok *tokens.Token
	var err error
	if grant == "refresh_token" {
		err = s.Tokens.Refresh(ctx, c, deref(form.RefreshToken))
	} else {
		tok, err = s.Tokens.ClientCredentials(ctx, c, deref(form.Scope))
	}
	var oe *tokens.OAuthError
	if errors.As(err, &oe) {
		return fail(oe)
	}
	if err != nil {
		return nil, err
	}
	return api.IssueToken200JSONResponse{
		Body:    api.TokenResponse{AccessToken: tok.AccessToken, TokenType: "Bearer", ExpiresIn: tok.ExpiresIn, Scope: &tok.Scope},
		Headers: api.IssueToken200ResponseHeaders{CacheControl: &noStore},
	}, nil
}

// IntrospectToken answers RFC 7662 for an authenticated client of the tenant.
func (s *Server) IntrospectToken(ctx context.Context, req api.IntrospectTokenRequestObject) (api.IntrospectTokenResponseObject, error) {
	form := req.Body
	if form == nil {
		form = &api.IntrospectionRequest{}
	}
	if _, oerr := s.authenticateClient(ctx, req.Tenant, "introspect", presented{form.ClientId, form.ClientSecret, form.ClientAssertionType, form.ClientAssertion}); oerr != nil {
		if oerr.Err != nil {
			return nil, oerr.Err
		}
		switch status, body := oauthError(ctx, oerr); status {
		case 401:
			return api.IntrospectToken401JSONResponse(body), nil
		case 429:
			return api.IntrospectToken429JSONResponse{SlowDownJSONResponse: slowDown(oerr, body)}, nil
		default:
			return api.IntrospectToken400JSONResponse(body), nil
		}
	}
	if deref(form.Token) == "" {
		_, body := oauthError(ctx, &tokens.OAuthError{Code: "invalid_request", Description: "token is required"})
		return api.IntrospectToken400JSONResponse(body), nil
	}
	c, err := s.Introspector.Introspect(ctx, req.Tenant, *form.Token)
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
	fail := func(e *tokens.OAuthError) (api.RevokeTokenResponseObject, error) {
		if e.Err != nil {
			return nil, e.Err
		}
		switch status, body := oauthError(ctx, e); status {
		case 401:
			return api.RevokeToken401JSONResponse(body), nil
		case 429:
			return api.RevokeToken429JSONResponse{SlowDownJSONResponse: slowDown(e, body)}, nil
		default:
			return api.RevokeToken400JSONResponse(body), nil
		}
	}
	c, oerr := s.authenticateClient(ctx, req.Tenant, "revoke", presented{form.ClientId, form.ClientSecret, form.ClientAssertionType, form.ClientAssertion})
	if oerr != nil {
		return fail(oerr)
	}
	if deref(form.Token) == "" {
		return fail(&tokens.OAuthError{Code: "invalid_request", Description: "token is required"})
	}
	err := s.Introspector.Revoke(ctx, c, *form.Token)
	var oe *tokens.OAuthError
	if errors.As(err, &oe) {
		return fail(oe)
	}
	if err != nil {
		return nil, err
	}
	return api.RevokeToken200Response{}, nil
}

// GetJWKS publishes the verification keys.
func (s *Server) GetJWKS(ctx context.Context, _ api.GetJWKSRequestObject) (api.GetJWKSResponseObject, error) {
	keys, err := s.Keys.JWKS(ctx)
	if err != nil {
		return nil, err
	}
	out := api.GetJWKS200JSONResponse{Keys: make([]api.JWK, 0, len(keys))}
	for _, k := range keys {
		jk, err := toJWK(k)
		if err != nil {
			return nil, err
		}
		out.Keys = append(out.Keys, jk)
	}
	sort.Slice(out.Keys, func(i, j int) bool { return out.Keys[i].Kid < out.Keys[j].Kid })
	return out, nil
}

func toJWK(k any) (api.JWK, error) {
	raw, err := json.Marshal(k)
	if err != nil {
		return api.JWK{}, err
	}
	var out api.JWK
	return out, json.Unmarshal(raw, &out)
}

// RotateSigningKey starts signing with a new key; platform admins only.
func (s *Server) RotateSigningKey(ctx context.Context, req api.RotateSigningKeyRequestObject) (api.RotateSigningKeyResponseObject, error) {
	if err := auth.Require(ctx, (*auth.Claims).PlatformAdmin, "only a platform admin (system tenant, services.iam) may rotate signing keys"); err != nil {
		return nil, err
	}
	kid, err := s.Keys.Rotate(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := s.Keys.JWKS(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		jk, err := toJWK(k)
		if err == nil && jk.Kid == kid {
			return api.RotateSigningKey200JSONResponse(jk), nil
		}
	}
	return nil, errs.E(errs.Internal, "rotated key %s not published", kid)
}

// GetServerMetadata is RFC 8414 metadata for the tenant's issuer.
func (s *Server) GetServerMetadata(_ context.Context, req api.GetServerMetadataRequestObject) (api.GetServerMetadataResponseObject, error) {
	iss := auth.Issuer(s.IssuerBase, req.Tenant)
	methods := []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}
	supported := scopes.PlatformNames()
	introspect, revoke, register := iss+"/oauth2/introspect", iss+"/oauth2/revoke", iss+"/oauth2/register"
	algs := slices.Clone(clients.AssertionAlgs)
	return api.GetServerMetadata200JSONResponse{
		Issuer: iss, TokenEndpoint: iss + "/oauth2/token", JwksUri: iss + "/oauth2/jwks",
		IntrospectionEndpoint: &introspect, IntrospectionEndpointAuthMethodsSupported: &methods,
		RevocationEndpoint: &revoke, RevocationEndpointAuthMethodsSupported: &methods,
		RegistrationEndpoint:              &register,
		GrantTypesSupported:               []string{"client_credentials", "refresh_token"},
		TokenEndpointAuthMethodsSupported: methods, TokenEndpointAuthSigningAlgValuesSupported: &algs,
		ResponseTypesSupported: &[]string{}, ScopesSupported: &supported,
	}, nil
}
