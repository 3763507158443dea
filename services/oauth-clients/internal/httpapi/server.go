// Package httpapi translates HTTP to oauth-clients' use cases and back; nothing more.
// Errors are returned as domain errors and become problems in one place (pkg/problem).
package httpapi

import (
	"context"
	"log/slog"

	"github.com/iamplane/iam/pkg/auth"

	"github.com/iamplane/iam/services/oauth-clients/api"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
	"github.com/iamplane/iam/services/oauth-clients/internal/tokens"
)

// Server implements the generated strict server interface.
type Server struct {
	Logger       *slog.Logger
	Limiter      *clients.FailureLimiter
	Clients      *clients.Registry
	Scopes       *scopes.Registry
	Tokens       *tokens.Issuer
	Introspector *tokens.Introspector
	Keys         *tokens.KeyRing
	IssuerBase   string
}

var _ api.StrictServerInterface = (*Server)(nil)

// actor is the caller's subject, recorded as createdBy/updatedBy.
func actor(ctx context.Context) string {
	if c := auth.FromContext(ctx); c != nil {
		return c.Subject
	}
	return ""
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
