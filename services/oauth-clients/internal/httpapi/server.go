// Package httpapi translates HTTP to oauth-clients' use cases and back; nothing more.
// Errors are returned as domain errors and become problems in one place (pkg/problem).
package httpapi

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"

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

func etag(version int64) *string {
	s := `"` + strconv.FormatInt(version, 10) + `"`
	return &s
}

// parseIfMatch reads a version ETag ("3" or W/"3").
func parseIfMatch(h *string) (*int64, error) {
	if h == nil || *h == "" {
		return nil, nil
	}
	v := strings.Trim(strings.TrimPrefix(strings.TrimSpace(*h), "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, errs.Fields("If-Match is not a version ETag", errs.FieldError{Field: "header.If-Match", Message: `expected an ETag such as "3"`})
	}
	return &n, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
