package clients

import (
	"fmt"
	"time"

	"github.com/iamplane/iam/pkg/errs"
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
	var bad []errs.FieldError
	str := func(field string, stated *string, is string) {
		if stated != nil && *stated != is {
			bad = append(bad, errs.FieldError{Field: field, Message: fmt.Sprintf("is read-only: the client's is %q", is)})
		}
	}
	at := func(field string, stated *time.Time, is time.Time) {
		if stated != nil && !stated.Equal(is) {
			bad = append(bad, errs.FieldError{Field: field, Message: "is read-only: the client's is " + is.Format(time.RFC3339Nano)})
		}
	}
	str("clientId", s.ID, c.ID)
	str("developerId", s.DeveloperID, c.DeveloperID)
	str("createdBy", s.CreatedBy, c.CreatedBy)
	str("updatedBy", s.UpdatedBy, c.UpdatedBy)
	if s.System != nil && *s.System != c.System {
		bad = append(bad, errs.FieldError{Field: "system", Message: fmt.Sprintf("is read-only: the client's is %t", c.System)})
	}
	at("createdAt", s.CreatedAt, c.CreatedAt)
	at("updatedAt", s.UpdatedAt, c.UpdatedAt)
	at("metadata.createdAt", s.MetadataCreatedAt, c.CreatedAt)
	at("metadata.modifiedAt", s.MetadataModifiedAt, c.UpdatedAt)
	if len(bad) > 0 {
		return errs.Fields("the change names read-only fields with values that are not the client's", bad...)
	}
	return nil
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
