package subjects

import (
	"slices"
	"time"

	"github.com/iamplane/iam/pkg/readonly"
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

// count is a sent count as readonly.Check compares numbers.
func count(n *int) *int64 {
	if n == nil {
		return nil
	}
	v := int64(*n)
	return &v
}

// check compares the echo with the user as stored (before the change) and the groups it
// will be in after it.
func (e UserEcho) check(u *User, groupIDs []string) error {
	var c readonly.Check
	c.String("id", e.ID, u.ID)
	c.String("subjectId", e.SubjectID, Ref{TypeUser, u.ID}.String())
	if e.GroupIDs != nil && !sameSet(e.GroupIDs, groupIDs) {
		c.Refuse("groups", "is read-only: its ids must be the user's groupIds")
	}
	if !u.CreatedAt.IsZero() {
		c.Time("metadata.createdAt", e.CreatedAt, u.CreatedAt)
		c.Time("metadata.modifiedAt", e.ModifiedAt, u.ModifiedAt)
	}
	return c.Err()
}

// check compares the echo with the group as stored before the change; the texts derived
// from the description may be those of the stored or of the new description.
func (e GroupEcho) check(g *Group, newDescription map[string]string) error {
	var c readonly.Check
	c.String("id", e.ID, g.ID)
	c.String("subjectId", e.SubjectID, Ref{TypeGroup, g.ID}.String())
	c.String("type", e.Type, string(TypeGroup))
	c.String("tenant", e.Tenant, g.Tenant)
	c.Int("memberCount", count(e.MemberCount), int64(g.MemberCount))
	c.Int("properties.memberCount", count(e.PropertiesMemberCount), int64(g.MemberCount))
	texts := append([]string{""}, values(g.Description)...)
	texts = append(texts, values(newDescription)...)
	c.String("localizedDescription", e.LocalizedDescription, Localize(g.Description, ""), texts...)
	c.String("properties.description", e.PropertiesDescription, Localize(g.Description, ""), texts...)
	if !g.CreatedAt.IsZero() {
		c.Time("metadata.createdAt", e.CreatedAt, g.CreatedAt)
		c.Time("metadata.modifiedAt", e.ModifiedAt, g.ModifiedAt)
	}
	return c.Err()
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
