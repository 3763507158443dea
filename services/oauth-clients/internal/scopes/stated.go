package scopes

import (
	"time"

	"github.com/iamplane/iam/pkg/readonly"
)

// Stated are the read-only fields of a definition a caller sent with a change, as its GET
// answered them (read-modify-write); nil: not sent. Each is ignored when it is the
// definition's and refused, naming it, when it is not.
type Stated struct {
	Name, CreatedBy, UpdatedBy *string
	BuiltIn                    *bool
	CreatedAt, ModifiedAt      *time.Time // metadata.createdAt and .modifiedAt
}

// CheckStated refuses, naming each, the stated read-only fields that are not d's.
func (d *Definition) CheckStated(s Stated) error {
	var ro readonly.Check
	ro.String("name", s.Name, d.Name)
	ro.String("createdBy", s.CreatedBy, d.CreatedBy)
	ro.String("updatedBy", s.UpdatedBy, d.UpdatedBy)
	ro.Bool("builtIn", s.BuiltIn, d.BuiltIn)
	ro.Time("metadata.createdAt", s.CreatedAt, d.CreatedAt)
	ro.Time("metadata.modifiedAt", s.ModifiedAt, d.UpdatedAt)
	return ro.Err()
}
