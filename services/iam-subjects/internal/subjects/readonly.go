package subjects

import (
	"fmt"
	"slices"
	"time"

	"github.com/iamplane/iam/pkg/errs"
)

// Read-modify-write: a caller may send a resource back as it read it. Its read-only
// fields are then ignored when they equal what is stored, and refused (naming the field)
// when they differ, so that a caller who thinks it can change one learns it cannot
// instead of being silently ignored. A nil field was not sent.

// UserEcho is what a write sent of a user's read-only fields.
type UserEcho struct {
	ID, SubjectID         *string
	GroupIDs              []string // the ids of `groups` (expand=groups); nil: not sent
	CreatedAt, ModifiedAt *time.Time
}

// GroupEcho is what a write sent of a group's read-only fields.
type GroupEcho struct {
	ID, SubjectID, Type, Tenant *string
	MemberCount                 *int
	LocalizedDescription        *string
	PropertiesDescription       *string
	PropertiesMemberCount       *int
	CreatedAt, ModifiedAt       *time.Time
}

type echoCheck struct{ bad []errs.FieldError }

func (c *echoCheck) str(field string, sent *string, stored ...string) {
	if sent != nil && !slices.Contains(stored, *sent) {
		c.bad = append(c.bad, errs.FieldError{Field: field, Message: fmt.Sprintf("is read-only: %q cannot be changed", stored[0])})
	}
}

func (c *echoCheck) num(field string, sent *int, stored int) {
	if sent != nil && *sent != stored {
		c.bad = append(c.bad, errs.FieldError{Field: field, Message: fmt.Sprintf("is read-only: %d cannot be changed", stored)})
	}
}

func (c *echoCheck) time(field string, sent *time.Time, stored time.Time) {
	if sent != nil && !sent.Equal(stored) {
		c.bad = append(c.bad, errs.FieldError{Field: field, Message: "is read-only: " + stored.Format(time.RFC3339Nano) + " cannot be changed"})
	}
}

func (c *echoCheck) err() error {
	if len(c.bad) == 0 {
		return nil
	}
	return errs.Fields("read-only fields differ from the stored ones", c.bad...)
}

// check compares the echo with the user as stored (before the change) and the groups it
// will be in after it.
func (e UserEcho) check(u *User, groupIDs []string) error {
	var c echoCheck
	c.str("id", e.ID, u.ID)
	c.str("subjectId", e.SubjectID, Ref{TypeUser, u.ID}.String())
	if e.GroupIDs != nil && !sameSet(e.GroupIDs, groupIDs) {
		c.bad = append(c.bad, errs.FieldError{Field: "groups", Message: "is read-only: its ids must be the user's groupIds"})
	}
	if !u.CreatedAt.IsZero() {
		c.time("metadata.createdAt", e.CreatedAt, u.CreatedAt)
		c.time("metadata.modifiedAt", e.ModifiedAt, u.ModifiedAt)
	}
	return c.err()
}

// check compares the echo with the group as stored before the change; the texts derived
// from the description may be those of the stored or of the new description.
func (e GroupEcho) check(g *Group, newDescription map[string]string) error {
	var c echoCheck
	c.str("id", e.ID, g.ID)
	c.str("subjectId", e.SubjectID, Ref{TypeGroup, g.ID}.String())
	c.str("type", e.Type, string(TypeGroup))
	c.str("tenant", e.Tenant, g.Tenant)
	c.num("memberCount", e.MemberCount, g.MemberCount)
	c.num("properties.memberCount", e.PropertiesMemberCount, g.MemberCount)
	texts := append([]string{Localize(g.Description, ""), ""}, values(g.Description)...)
	texts = append(texts, values(newDescription)...)
	c.str("localizedDescription", e.LocalizedDescription, texts...)
	c.str("properties.description", e.PropertiesDescription, texts...)
	if !g.CreatedAt.IsZero() {
		c.time("metadata.createdAt", e.CreatedAt, g.CreatedAt)
		c.time("metadata.modifiedAt", e.ModifiedAt, g.ModifiedAt)
	}
	return c.err()
}

func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}
