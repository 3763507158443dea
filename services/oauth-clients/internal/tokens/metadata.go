package tokens

import (
	"slices"

	"github.com/iamplane/iam/pkg/auth"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
)

// ServerMetadata is what RFC 8414 and OpenID Connect Discovery 1.0 publish about a
// tenant's authorization server; the two documents carry the same members.
type ServerMetadata struct {
	Issuer                string
	AuthorizationEndpoint string
	TokenEndpoint         string
	UserInfoEndpoint      string
	JWKSURI               string
	EndSessionEndpoint    string
	IntrospectionEndpoint string
	RevocationEndpoint    string
	RegistrationEndpoint  string
	// The client authentication methods of the token, introspection and revocation
	// endpoints (a public client's "none" at the token and revocation endpoints only);
	// AssertionAlgs the algorithms of private_key_jwt.
	TokenAuthMethods         []string
	IntrospectionAuthMethods []string
	RevocationAuthMethods    []string
	AssertionAlgs            []string
	GrantTypes               []string
	ResponseTypes            []string
	ResponseModes            []string
	CodeChallengeMethods     []string
	IDTokenAlgs              []string
	SubjectTypes             []string
	Claims                   []string
	Prompts                  []string
	Scopes                   []string // the platform's; a tenant's own scopes are not advertised
}

// Metadata describes tenant's authorization server and OpenID provider.
func (i *Issuer) Metadata(tenant string) ServerMetadata {
	iss := auth.Issuer(i.issuerBase, tenant)
	secretOrKey := []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}
	return ServerMetadata{
		Issuer: iss, AuthorizationEndpoint: iss + "/oauth2/authorize", TokenEndpoint: iss + "/oauth2/token",
		UserInfoEndpoint: iss + "/oauth2/userinfo", JWKSURI: iss + "/oauth2/jwks", EndSessionEndpoint: iss + "/oauth2/logout",
		IntrospectionEndpoint: iss + "/oauth2/introspect", RevocationEndpoint: iss + "/oauth2/revoke",
		RegistrationEndpoint:     iss + "/oauth2/register",
		TokenAuthMethods:         append(slices.Clone(secretOrKey), "none"),
		IntrospectionAuthMethods: secretOrKey,
		RevocationAuthMethods:    append(slices.Clone(secretOrKey), "none"),
		AssertionAlgs:            slices.Clone(clients.AssertionAlgs),
		GrantTypes:               []string{"authorization_code", "refresh_token", "client_credentials"},
		ResponseTypes:            []string{"code"},
		ResponseModes:            []string{"query"},
		CodeChallengeMethods:     []string{"S256"},
		IDTokenAlgs:              []string{"EdDSA"},
		SubjectTypes:             []string{"public"},
		Claims: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "at_hash", "sid",
			"name", "given_name", "family_name", "preferred_username", "locale", "email", "email_verified", "phone_number"},
		Prompts: []string{"none", "login", "consent"},
		Scopes:  scopes.PlatformNames(),
	}
}
