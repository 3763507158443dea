package clients

import (
	"time"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/readonly"
)

// Stated are the read-only fields of a client a caller sent with a change, as the client's
// GET answered them (read-modify-write); nil: not sent. They change nothing: each is
// ignored when it is the client's, and refused, naming it, when it is not, so that a
// caller never believes it changed what it cannot.
type Stated struct {
	ID, DeveloperID, CreatedBy, UpdatedBy *string
	System                                *bool
	CreatedAt, UpdatedAt                  *time.Time
	// MetadataCreatedAt and MetadataModifiedAt are metadata.createdAt and .modifiedAt.
	MetadataCreatedAt, MetadataModifiedAt *time.Time
}

// CheckStated refuses, naming each, the stated read-only fields that are not c's.
func (c *Client) CheckStated(s Stated) error {
	var ro readonly.Check
	ro.String("clientId", s.ID, c.ID)
	ro.String("developerId", s.DeveloperID, c.DeveloperID)
	ro.String("createdBy", s.CreatedBy, c.CreatedBy)
	ro.String("updatedBy", s.UpdatedBy, c.UpdatedBy)
	ro.Bool("system", s.System, c.System)
	ro.Time("createdAt", s.CreatedAt, c.CreatedAt)
	ro.Time("updatedAt", s.UpdatedAt, c.UpdatedAt)
	ro.Time("metadata.createdAt", s.MetadataCreatedAt, c.CreatedAt)
	ro.Time("metadata.modifiedAt", s.MetadataModifiedAt, c.UpdatedAt)
	return ro.Err()
}

// Creating reports the stated fields a creation cannot take (all but the id, which Import
// keeps): a new client has no history to state.
func (s Stated) Creating() error {
	var bad []errs.FieldError
	for field, set := range map[string]bool{"developerId": s.DeveloperID != nil, "createdBy": s.CreatedBy != nil,
		"updatedBy": s.UpdatedBy != nil, "system": s.System != nil && *s.System, "createdAt": s.CreatedAt != nil,
		"updatedAt": s.UpdatedAt != nil, "metadata.createdAt": s.MetadataCreatedAt != nil, "metadata.modifiedAt": s.MetadataModifiedAt != nil} {
		if set {
			bad = append(bad, errs.FieldError{Field: field, Message: "is read-only: the platform sets it"})
		}
	}
	if len(bad) > 0 {
		return errs.Fields("a new client cannot state read-only fields", bad...)
	}
	return nil
}
