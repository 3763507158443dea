package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/auth"

	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
)

// actor is the caller's subject, recorded as createdBy/updatedBy.
func actor(ctx context.Context) string {
	if c := auth.FromContext(ctx); c != nil {
		return c.Subject
	}
	return ""
}

// caller is the verified caller: its subject, and whether it administers the tenant.
func caller(ctx context.Context) clients.Caller {
	c := auth.FromContext(ctx)
	if c == nil {
		return clients.Caller{}
	}
	return clients.Caller{Subject: c.Subject, Admin: c.HasScope(auth.AdminScope)}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
