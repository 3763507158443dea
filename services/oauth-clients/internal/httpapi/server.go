// Package httpapi translates HTTP to oauth-clients' use cases and back; nothing more.
// Errors are returned as domain errors and become problems in one place (pkg/problem).
package httpapi

import (
	"github.com/iamplane/iam/pkg/keyring"
	"github.com/iamplane/iam/services/oauth-clients/api"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
	"github.com/iamplane/iam/services/oauth-clients/internal/users"
)

// Server implements the generated strict server interface: each handler calls one use
// case.
type Server struct {
	clients      *clients.Registry
	scopes       *scopes.Registry
	tokens       *tokens.Issuer
	introspector *tokens.Introspector
	keys         *keyring.Ring
	profiles     *users.Profiles
	// issuerBase makes the links RFC 7592 hands out (registration_client_uri).
	issuerBase string
}

// NewServer serves the use cases.
func NewServer(clients *clients.Registry, scopes *scopes.Registry, issuer *tokens.Issuer, introspector *tokens.Introspector,
	keys *keyring.Ring, profiles *users.Profiles, issuerBase string) *Server {
	return &Server{clients: clients, scopes: scopes, tokens: issuer, introspector: introspector, keys: keys,
		profiles: profiles, issuerBase: issuerBase}
}

var _ api.StrictServerInterface = (*Server)(nil)
