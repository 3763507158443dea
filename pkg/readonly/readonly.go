// Package readonly is read-modify-write's rule for read-only fields: a caller may send a
// resource back as it read it, and its read-only fields are then ignored when they equal
// what is stored, and refused, naming each field, when they differ, so that a caller who
// thinks it can change one learns it cannot instead of being silently ignored.
package readonly

import (
	"fmt"
	"slices"
	"time"

	"github.com/iamplane/iam/pkg/errs"
)

// Check collects the read-only fields a write sent that differ from the stored ones; a
// nil field was not sent.
type Check struct{ bad []errs.FieldError }

// String compares a sent string with the stored one; alsoAccepted are other forms of the
// stored value a representation may carry (a text in another language, say).
func (c *Check) String(field string, sent *string, stored string, alsoAccepted ...string) {
	if sent != nil && *sent != stored && !slices.Contains(alsoAccepted, *sent) {
		c.bad = append(c.bad, errs.FieldError{Field: field, Message: fmt.Sprintf("is read-only: %q cannot be changed", stored)})
	}
}

// Int compares a sent number with the stored one.
func (c *Check) Int(field string, sent *int64, stored int64) {
	if sent != nil && *sent != stored {
		c.bad = append(c.bad, errs.FieldError{Field: field, Message: fmt.Sprintf("is read-only: %d cannot be changed", stored)})
	}
}

// Bool compares a sent flag with the stored one.
func (c *Check) Bool(field string, sent *bool, stored bool) {
	if sent != nil && *sent != stored {
		c.bad = append(c.bad, errs.FieldError{Field: field, Message: fmt.Sprintf("is read-only: %t cannot be changed", stored)})
	}
}

// Refuse refuses a read-only field whose comparison is the caller's own.
func (c *Check) Refuse(field, message string) {
	c.bad = append(c.bad, errs.FieldError{Field: field, Message: message})
}

// Time compares a sent instant with the stored one.
func (c *Check) Time(field string, sent *time.Time, stored time.Time) {
	if sent != nil && !sent.Equal(stored) {
		c.bad = append(c.bad, errs.FieldError{Field: field, Message: "is read-only: " + stored.UTC().Format(time.RFC3339Nano) + " cannot be changed"})
	}
}

// Set compares a sent list with the stored one as sets; nil was not sent.
func (c *Check) Set(field string, sent, stored []string) {
	if sent == nil {
		return
	}
	x, y := slices.Clone(sent), slices.Clone(stored)
	slices.Sort(x)
	slices.Sort(y)
	if !slices.Equal(slices.Compact(x), slices.Compact(y)) {
		c.bad = append(c.bad, errs.FieldError{Field: field, Message: fmt.Sprintf("is read-only: %v cannot be changed", stored)})
	}
}

// Err is the refusal naming every differing field (422), or nil.
func (c *Check) Err() error {
	if len(c.bad) == 0 {
		return nil
	}
	return errs.Fields("read-only fields differ from the stored ones", c.bad...)
}
