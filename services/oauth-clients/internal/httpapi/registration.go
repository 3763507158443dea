package httpapi

import (
	"context"
	"errors"
	"strings"
	"unicode"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/service"

	"github.com/iamplane/iam/services/oauth-clients/api"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
)

// registrationMetadata is RFC 7591 metadata in the domain's terms.
func registrationMetadata(in *api.RegistrationRequest) clients.Metadata {
	return clients.Metadata{
		Name: deref(in.ClientName), GrantTypes: deref(in.GrantTypes), ResponseTypes: deref(in.ResponseTypes),
		RedirectURIs: deref(in.RedirectUris), PostLogoutRedirectURIs: deref(in.PostLogoutRedirectUris), Scopes: strings.Fields(deref(in.Scope)),
		TokenEndpointAuthMethod: deref(in.TokenEndpointAuthMethod),
		ClientURI:               deref(in.ClientUri), LogoURI: deref(in.LogoUri), PolicyURI: deref(in.PolicyUri), TosURI: deref(in.TosUri),
		JWKS: jwksFrom(in.Jwks), JWKSURI: deref(in.JwksUri),
	}
}

// registrationError turns a refusal of the metadata into an RFC 7591 §3.2.2 error; other
// errors are left to the problem handler.
func registrationError(err error) *api.OAuthError {
	var de *errs.Error
	if !errs.Is(err, errs.Invalid) || !asError(err, &de) {
		return nil
	}
	code := "invalid_client_metadata"
	var parts []string
	for _, f := range de.Fields {
		if strings.HasPrefix(f.Field, "redirectUris") {
			code = "invalid_redirect_uri"
		}
		parts = append(parts, snake(f.Field)+": "+f.Message)
	}
	if len(parts) == 0 {
		parts = []string{de.Detail}
	}
	return &api.OAuthError{Error: code, ErrorDescription: ptrTo(strings.Join(parts, "; "))}
}

// snake names a domain field as RFC 7591 does: redirectUris.0 -> redirect_uris.0.
func snake(field string) string {
	head, rest, _ := strings.Cut(field, ".")
	if head == "scopes" {
		head = "scope"
	}
	var b strings.Builder
	for _, r := range head {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	if rest != "" {
		return b.String() + "." + rest
	}
	return b.String()
}

func (s *Server) registrationOut(c *clients.Client) api.RegistrationResponse {
	uri := auth.Issuer(s.issuerBase, c.Tenant) + "/oauth2/register/" + c.ID
	return api.RegistrationResponse{
		ClientId: c.ID, ClientIdIssuedAt: c.CreatedAt.Unix(), ClientSecretExpiresAt: 0, RegistrationClientUri: uri,
		ClientName: c.Name, GrantTypes: c.GrantTypes, ResponseTypes: c.ResponseTypes, RedirectUris: c.RedirectURIs,
		PostLogoutRedirectUris:  &c.PostLogoutRedirectURIs,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, Scope: ptrTo(strings.Join(c.Scopes, " ")),
		ClientUri: optional(c.ClientURI), LogoUri: optional(c.LogoURI), PolicyUri: optional(c.PolicyURI), TosUri: optional(c.TosURI),
		JwksUri: optional(c.JWKSURI), Jwks: jwksOut(c.JWKS),
	}
}

// RegisterClient is RFC 7591 dynamic registration, for the bearer of an initial access
// token.
func (s *Server) RegisterClient(ctx context.Context, req api.RegisterClientRequestObject) (api.RegisterClientResponseObject, error) {
	reg, err := s.clients.Register(ctx, req.Tenant, registrationMetadata(req.Body), caller(ctx))
	if oe := registrationError(err); oe != nil {
		return api.RegisterClient400JSONResponse(*oe), nil
	}
	if err != nil {
		return nil, err
	}
	out := s.registrationOut(reg.Client)
	out.RegistrationAccessToken = &reg.AccessToken
	if reg.Secret != nil {
		out.ClientSecret = &reg.Secret.Value
	}
	return api.RegisterClient201JSONResponse{Body: out, Headers: api.RegisterClient201ResponseHeaders{CacheControl: &noStore}}, nil
}

// registrationToken is the bearer token of an RFC 7592 request.
func registrationToken(ctx context.Context) string {
	if c := service.Echo(ctx); c != nil {
		c.Response().Header().Set("Cache-Control", noStore)
		if tok, ok := auth.BearerToken(c.Request()); ok {
			return tok
		}
	}
	return ""
}

// invalidToken is RFC 6750's answer to a missing or wrong registration access token.
func invalidToken(ctx context.Context, err error) (api.OAuthError, bool) {
	if !errs.Is(err, errs.Unauthorized) {
		return api.OAuthError{}, false
	}
	if c := service.Echo(ctx); c != nil {
		c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	return api.OAuthError{Error: "invalid_token", ErrorDescription: ptrTo("the registration access token is not valid for this client")}, true
}

// GetRegisteredClient is RFC 7592 read.
func (s *Server) GetRegisteredClient(ctx context.Context, req api.GetRegisteredClientRequestObject) (api.GetRegisteredClientResponseObject, error) {
	c, err := s.clients.Registered(ctx, req.Tenant, req.ClientId, registrationToken(ctx))
	if body, ok := invalidToken(ctx, err); ok {
		return api.GetRegisteredClient401JSONResponse(body), nil
	}
	if err != nil {
		return nil, err
	}
	return api.GetRegisteredClient200JSONResponse(s.registrationOut(c)), nil
}

// UpdateRegisteredClient is RFC 7592 update: the body replaces the metadata.
func (s *Server) UpdateRegisteredClient(ctx context.Context, req api.UpdateRegisteredClientRequestObject) (api.UpdateRegisteredClientResponseObject, error) {
	c, err := s.clients.UpdateRegistered(ctx, req.Tenant, req.ClientId, registrationToken(ctx), req.Body.ClientId, registrationMetadata(req.Body))
	if body, ok := invalidToken(ctx, err); ok {
		return api.UpdateRegisteredClient401JSONResponse(body), nil
	}
	if oe := registrationError(err); oe != nil {
		return api.UpdateRegisteredClient400JSONResponse(*oe), nil
	}
	if err != nil {
		return nil, err
	}
	return api.UpdateRegisteredClient200JSONResponse(s.registrationOut(c)), nil
}

// DeleteRegisteredClient is RFC 7592 delete.
func (s *Server) DeleteRegisteredClient(ctx context.Context, req api.DeleteRegisteredClientRequestObject) (api.DeleteRegisteredClientResponseObject, error) {
	err := s.clients.DeleteRegistered(ctx, req.Tenant, req.ClientId, registrationToken(ctx))
	if body, ok := invalidToken(ctx, err); ok {
		return api.DeleteRegisteredClient401JSONResponse(body), nil
	}
	if err != nil {
		return nil, err
	}
	return api.DeleteRegisteredClient204Response{}, nil
}

func ptrTo[T any](v T) *T { return &v }

func asError(err error, target **errs.Error) bool { return errors.As(err, target) }
