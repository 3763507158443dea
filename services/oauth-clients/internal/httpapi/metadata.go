package httpapi

import (
	"context"
	"slices"

	"github.com/iamplane/iam/pkg/pages"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

// serverMetadata is the tenant's metadata document: RFC 8414 and OpenID Connect
// Discovery answer the same members.
func (s *Server) serverMetadata(tenant string) api.ServerMetadata {
	m := s.tokens.Metadata(tenant)
	yes, no := true, false
	// The pages of the sign-in (ours, iam-subjects' and consent's) speak pages.Languages.
	locales := slices.Clone(pages.Languages)
	return api.ServerMetadata{
		Issuer: m.Issuer, AuthorizationEndpoint: m.AuthorizationEndpoint, TokenEndpoint: m.TokenEndpoint,
		UserinfoEndpoint: &m.UserInfoEndpoint, JwksUri: m.JWKSURI, EndSessionEndpoint: &m.EndSessionEndpoint,
		IntrospectionEndpoint: &m.IntrospectionEndpoint, IntrospectionEndpointAuthMethodsSupported: &m.IntrospectionAuthMethods,
		RevocationEndpoint: &m.RevocationEndpoint, RevocationEndpointAuthMethodsSupported: &m.RevocationAuthMethods,
		RegistrationEndpoint:              &m.RegistrationEndpoint,
		GrantTypesSupported:               m.GrantTypes,
		TokenEndpointAuthMethodsSupported: m.TokenAuthMethods, TokenEndpointAuthSigningAlgValuesSupported: &m.AssertionAlgs,
		ResponseTypesSupported: m.ResponseTypes, ResponseModesSupported: &m.ResponseModes, ScopesSupported: &m.Scopes,
		CodeChallengeMethodsSupported: &m.CodeChallengeMethods, IdTokenSigningAlgValuesSupported: m.IDTokenAlgs,
		SubjectTypesSupported: m.SubjectTypes, ClaimsSupported: &m.Claims, PromptValuesSupported: &m.Prompts,
		UiLocalesSupported: &locales, ClaimsParameterSupported: &no, RequestParameterSupported: &no,
		RequestUriParameterSupported: &no, AuthorizationResponseIssParameterSupported: &yes,
	}
}

// GetServerMetadata is RFC 8414 metadata for the tenant's issuer.
func (s *Server) GetServerMetadata(_ context.Context, req api.GetServerMetadataRequestObject) (api.GetServerMetadataResponseObject, error) {
	return api.GetServerMetadata200JSONResponse(s.serverMetadata(req.Tenant)), nil
}

// GetOpenIDConfiguration is OpenID Connect Discovery for the tenant's issuer.
func (s *Server) GetOpenIDConfiguration(_ context.Context, req api.GetOpenIDConfigurationRequestObject) (api.GetOpenIDConfigurationResponseObject, error) {
	return api.GetOpenIDConfiguration200JSONResponse(s.serverMetadata(req.Tenant)), nil
}
