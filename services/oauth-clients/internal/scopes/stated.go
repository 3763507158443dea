package scopes

import (
	"fmt"
	"time"

	"github.com/iamplane/iam/pkg/errs"
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
	var bad []errs.FieldError
	str := func(field string, stated *string, is string) {
		if stated != nil && *stated != is {
			bad = append(bad, errs.FieldError{Field: field, Message: fmt.Sprintf("is read-only: the scope's is %q", is)})
		}
	}
	at := func(field string, stated *time.Time, is time.Time) {
		if stated != nil && !stated.Equal(is) {
			bad = append(bad, errs.FieldError{Field: field, Message: "is read-only: the scope's is " + is.Format(time.RFC3339Nano)})
		}
	}
	str("name", s.Name, d.Name)
	str("createdBy", s.CreatedBy, d.CreatedBy)
	str("updatedBy", s.UpdatedBy, d.UpdatedBy)
	if s.BuiltIn != nil && *s.BuiltIn != d.BuiltIn {
		bad = append(bad, errs.FieldError{Field: "builtIn", Message: fmt.Sprintf("is read-only: the scope's is %t", d.BuiltIn)})
	}
	at("metadata.createdAt", s.CreatedAt, d.CreatedAt)
	at("metadata.modifiedAt", s.ModifiedAt, d.UpdatedAt)
	if len(bad) > 0 {
		return errs.Fields("the change names read-only fields with values that are not the scope's", bad...)
	}
	return nil
}
