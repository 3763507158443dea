package httpapi

import (
	"context"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

// GetServerMetadata is RFC 8414 metadata for the tenant's issuer.
func (s *Server) GetServerMetadata(_ context.Context, req api.GetServerMetadataRequestObject) (api.GetServerMetadataResponseObject, error) {
	m := s.tokens.Metadata(req.Tenant)
	return api.GetServerMetadata200JSONResponse{
		Issuer: m.Issuer, TokenEndpoint: m.TokenEndpoint, JwksUri: m.JWKSURI,
		IntrospectionEndpoint: &m.IntrospectionEndpoint, IntrospectionEndpointAuthMethodsSupported: &m.AuthMethods,
		RevocationEndpoint: &m.RevocationEndpoint, RevocationEndpointAuthMethodsSupported: &m.AuthMethods,
		RegistrationEndpoint:              &m.RegistrationEndpoint,
		GrantTypesSupported:               m.GrantTypes,
		TokenEndpointAuthMethodsSupported: m.AuthMethods, TokenEndpointAuthSigningAlgValuesSupported: &m.AssertionAlgs,
		ResponseTypesSupported: &[]string{}, ScopesSupported: &m.Scopes,
	}, nil
}
