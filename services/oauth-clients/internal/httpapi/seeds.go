package httpapi

import (
	"context"
	"errors"
	"strings"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

// This file is what the seed dialects' handlers (internal/httpapi/<seed>) share with the
// native ones: who the caller is, and the seed's names for the fields a refusal names.

// Actor is the caller's subject, recorded as createdBy/updatedBy.
func Actor(ctx context.Context) string { return actor(ctx) }

// Caller is the verified caller, for the developer self-service use cases.
var Caller = caller

// TokenTenant is the caller's own tenant, for a dialect whose paths name none.
func TokenTenant(ctx context.Context) string {
	if c := auth.FromContext(ctx); c != nil {
		return c.Tenant
	}
	return ""
}

// RenameFields gives the fields a refusal names the names the caller's API uses for them:
// names maps a native field (clientName) or its prefix (redirectUris for redirectUris.0)
// to the seed's (data.attributes.label). Other errors pass unchanged.
func RenameFields(err error, names map[string]string) error {
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	out := *e
	out.Fields = make([]errs.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		out.Fields[i] = f
		head, rest, _ := strings.Cut(f.Field, ".")
		if seed, ok := names[f.Field]; ok {
			out.Fields[i].Field = seed
		} else if seed, ok := names[head]; ok {
			out.Fields[i].Field = seed + "." + rest
		}
	}
	return &out
}

// Deref is *p, or the zero value for nil.
func Deref[T any](p *T) T { return deref(p) }
