// Package emporix serves Emporix's IAM API (the users, groups and assignments of seed
// 004) by translating its shapes onto iam-subjects' use cases, as the native handlers
// do; nothing more. Emporix pages with pageNumber and pageSize, answers bare arrays with
// the total in X-Total-Count when asked, and answers writes with {id}.
package emporix

import (
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"

	api "github.com/iamplane/iam/services/iam-subjects/api/emporix"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// Server implements the generated strict server interface of the Emporix dialect.
type Server struct {
	directory *subjects.Directory
}

// NewServer serves the directory's use cases in Emporix's shapes.
func NewServer(directory *subjects.Directory) *Server { return &Server{directory: directory} }

var _ api.StrictServerInterface = (*Server)(nil)

// modifiedSince reads metadataModifiedAt: a date (its midnight, UTC) or a date-time.
func modifiedSince(s *string) (*time.Time, error) {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(*s)); err == nil {
			return &t, nil
		}
	}
	return nil, &errs.Error{Kind: errs.BadRequest, Detail: "malformed query parameter metadataModifiedAt",
		Fields: []errs.FieldError{{Field: "metadataModifiedAt", Message: "expected a date (2022-01-01) or a date-time (2022-01-01T10:00:00Z)"}}}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
