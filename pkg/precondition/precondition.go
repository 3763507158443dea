// Package precondition implements optimistic concurrency for every mutable resource: a change
// names the version it is based on, in the body's metadata.version (stale: 409) or in
// If-Match (mismatch: 412), and is refused otherwise, never silently applied.
package precondition

import (
	"strconv"
	"strings"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/errs"
)

// Version is the version a change is based on.
type Version struct {
	Body    *int64 // metadata.version
	IfMatch *int64 // from the If-Match header
	// Optional lets a change that names no version apply to the current one: only for a
	// seed dialect whose document makes locking optional (Emporix: "if you provide the
	// metadata.version, the optimistic locking is enabled") or has none (Cloudentity).
	Optional bool
}

// Unconditional is the precondition of an API whose changes name no version (a seed
// dialect whose vendor has no optimistic concurrency, such as Cloudentity's consent
// actions): without one the change applies to whatever is current; a version it does
// name (body, if non-nil) is still checked.
func Unconditional(body *int64) Version { return Version{Body: body, Optional: true} }

// From reads the precondition of a request: the body's metadata (nil when it has none)
// and the If-Match header (nil when absent).
func From(meta *apicommon.Metadata, ifMatch *string) (Version, error) {
	v, err := ParseIfMatch(ifMatch)
	if err != nil {
		return Version{}, err
	}
	p := Version{IfMatch: v}
	if meta != nil {
		p.Body = &meta.Version
	}
	return p, nil
}

// Check compares the precondition with the current version.
func (p Version) Check(current int64) error {
	switch {
	case p.IfMatch != nil && *p.IfMatch != current:
		return errs.E(errs.PreconditionFailed, "If-Match names version %d; the current version is %d", *p.IfMatch, current)
	case p.Body != nil && *p.Body != current:
		return errs.E(errs.VersionConflict, "version %d is stale; the current version is %d", *p.Body, current)
	case p.IfMatch == nil && p.Body == nil && !p.Optional:
		return errs.Fields("the change does not say which version it is based on",
			errs.FieldError{Field: "metadata.version", Message: "required (or an If-Match header)"})
	}
	return nil
}

// ETag is the entity tag of a version, e.g. "3".
func ETag(v int64) *string {
	s := `"` + strconv.FormatInt(v, 10) + `"`
	return &s
}

// ParseIfMatch reads a version ETag ("3" or W/"3"); nil when the header is absent.
func ParseIfMatch(h *string) (*int64, error) {
	if h == nil || strings.TrimSpace(*h) == "" {
		return nil, nil
	}
	v := strings.Trim(strings.TrimPrefix(strings.TrimSpace(*h), "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, errs.Fields("If-Match is not a version ETag", errs.FieldError{Field: "header.If-Match", Message: `expected an ETag such as "3"`})
	}
	return &n, nil
}
