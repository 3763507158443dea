package httpapi

import (
	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/localize"
	"github.com/iamplane/iam/pkg/pagination"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

// What every RBAC handler shares: localized text out, list filters and preconditions in.

// text renders localized text: the map, or with an Accept-Language the one string.
func text(m map[string]string, lang string) api.Text {
	var t api.Text
	if lang != "" {
		_ = t.FromText0(localize.Pick(m, lang))
	} else {
		_ = t.FromLocalizedText(m)
	}
	return t
}

func optionalText(m map[string]string, lang string) *api.Text {
	if len(m) == 0 {
		return nil
	}
	t := text(m, lang)
	return &t
}

func metadataOut(e *rbac.Entry) apicommon.Metadata {
	created, modified := e.CreatedAt, e.ModifiedAt
	return apicommon.Metadata{Version: e.Version, CreatedAt: &created, ModifiedAt: &modified}
}

func rbacQuery(p pagination.Page, name, description, modifiedAt *string) (rbac.Query, error) {
	q := rbac.Query{Name: deref(name), Description: deref(description), Offset: p.Offset(), Limit: p.Size}
	if modifiedAt != nil {
		t, ok := rbac.ParseModifiedSince(*modifiedAt)
		if !ok {
			return q, errs.Fields("metadataModifiedAt is neither a date nor an RFC 3339 date-time",
				errs.FieldError{Field: "query.metadataModifiedAt", Message: "expected 2026-11-01 or 2026-11-01T00:00:00Z"})
		}
		q.ModifiedSince = &t
	}
	return q, nil
}

func description(d *api.LocalizedText) map[string]string {
	if d == nil {
		return nil
	}
	return *d
}

func expansion(expand *[]string) rbac.Expansion {
	if expand == nil {
		return rbac.Expansion{}
	}
	return rbac.ExpansionOf(*expand)
}

// metadataIn is the version a write is based on.
func metadataIn(m *api.MetadataInput) *apicommon.Metadata {
	if m == nil {
		return nil
	}
	return &apicommon.Metadata{Version: m.Version}
}

// echoOf is what a write sent back of an entry's read-only fields.
func echoOf(id *string, m *api.MetadataInput) rbac.Echo {
	e := rbac.Echo{ID: id}
	if m != nil {
		e.CreatedAt, e.ModifiedAt = m.CreatedAt, m.ModifiedAt
	}
	return e
}
