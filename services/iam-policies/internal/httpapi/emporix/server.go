// Package emporix serves Emporix's IAM API (openapi/dialects/emporix-iam-policies.yaml)
// for what iam-policies owns: it translates Emporix's paths, paging, filters and shapes
// onto the same RBAC and policy use cases the native handlers call, and nothing more.
package emporix

import (
	"context"
	"strings"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/dialect"
	"github.com/iamplane/iam/pkg/errs"

	api "github.com/iamplane/iam/services/iam-policies/api/emporix"
	"github.com/iamplane/iam/services/iam-policies/internal/policies"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

// Server implements the dialect's strict server interface.
type Server struct {
	policies *policies.Engine
	rbac     *rbac.Catalog
}

// NewServer returns the Emporix handlers on the service's policy engine and RBAC catalog.
func NewServer(engine *policies.Engine, catalog *rbac.Catalog) *Server {
	return &Server{policies: engine, rbac: catalog}
}

var _ api.StrictServerInterface = (*Server)(nil)

// onePage bounds the lists Emporix documents without paging (a user's access controls
// on one resource).
const onePage = 10000

// language is the first language of an Accept-Language header, for sorting by name.
func language(acceptLanguage *string) string {
	if acceptLanguage == nil {
		return ""
	}
	first, _, _ := strings.Cut(*acceptLanguage, ",")
	tag, _, _ := strings.Cut(first, ";")
	return strings.TrimSpace(tag)
}

// query builds the RBAC listing query from Emporix's parameters.
func query(p dialect.EmporixPage, sort, name, description, modifiedAt, acceptLanguage *string) (rbac.Query, error) {
	q := rbac.Query{Name: deref(name), Description: deref(description), Language: language(acceptLanguage),
		Offset: p.Offset(), Limit: p.Size}
	if sort != nil {
		keys, err := rbac.ParseSort(*sort)
		if err != nil {
			return q, err
		}
		q.Sort = keys
	}
	if modifiedAt != nil {
		t, ok := rbac.ParseModifiedSince(*modifiedAt)
		if !ok {
			return q, &errs.Error{Kind: errs.BadRequest, Detail: "metadataModifiedAt is neither a date nor an RFC 3339 date-time",
				Fields: []errs.FieldError{{Field: "query.metadataModifiedAt", Message: "expected 2022-01-01 or 2022-01-01T00:00:00Z"}}}
		}
		q.ModifiedSince = &t
	}
	return q, nil
}

func expansion(expand *[]string) rbac.Expansion {
	if expand == nil {
		return rbac.Expansion{}
	}
	return rbac.ExpansionOf(*expand)
}

// userSubject is the subject of an Emporix user id.
func userSubject(userID string) string { return "user-" + userID }

// caller is the subject `me` stands for.
func caller(ctx context.Context) (string, error) {
	if c := auth.FromContext(ctx); c != nil && c.Subject != "" {
		return c.Subject, nil
	}
	return "", errs.E(errs.Unauthorized, "no caller")
}

// userID is the Emporix user id of a subject: its id without `user-`; other subjects
// (a client asking for its own scopes) keep their subject id.
func userID(subject string) string {
	if id, ok := strings.CutPrefix(subject, "user-"); ok {
		return id
	}
	return subject
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
