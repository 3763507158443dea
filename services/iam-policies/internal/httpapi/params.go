package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

// What every handler shares reading optional parameters and writing optional fields.

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// subjectOf resolves the path's `me` to the caller's subject.
func subjectOf(ctx context.Context, id string) (string, error) {
	if id != "me" {
		return id, nil
	}
	if c := auth.FromContext(ctx); c != nil {
		return c.Subject, nil
	}
	return "", errs.E(errs.Unauthorized, "no caller")
}
