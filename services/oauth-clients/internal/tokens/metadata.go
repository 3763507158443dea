package tokens

import (
	"slices"

	"github.com/iamplane/iam/pkg/auth"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
)

// ServerMetadata is what RFC 8414 publishes about a tenant's authorization server.
type ServerMetadata struct {
	Issuer                string
	TokenEndpoint         string
	JWKSURI               string
	IntrospectionEndpoint string
	RevocationEndpoint    string
	RegistrationEndpoint  string
	// AuthMethods are the client authentication methods of the token, introspection and
	// revocation endpoints alike; AssertionAlgs the algorithms of private_key_jwt.
	AuthMethods   []string
	AssertionAlgs []string
	GrantTypes    []string
	Scopes        []string // the platform's; a tenant's own scopes are not advertised
}

// Metadata describes tenant's authorization server.
func (i *Issuer) Metadata(tenant string) ServerMetadata {
	iss := auth.Issuer(i.issuerBase, tenant)
	return ServerMetadata{
		Issuer: iss, TokenEndpoint: iss + "/oauth2/token", JWKSURI: iss + "/oauth2/jwks",
		IntrospectionEndpoint: iss + "/oauth2/introspect", RevocationEndpoint: iss + "/oauth2/revoke",
		RegistrationEndpoint: iss + "/oauth2/register",
		AuthMethods:          []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		AssertionAlgs:        slices.Clone(clients.AssertionAlgs),
		GrantTypes:           []string{"client_credentials", "refresh_token"},
		Scopes:               scopes.PlatformNames(),
	}
}
