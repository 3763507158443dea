package subjects

import (
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/localize"
)

// GroupFields are what a caller sets on a group: Aritma's displayName and Emporix's
// localized name and description, code, userType and B2B legal entity.
type GroupFields struct {
	DisplayName   string
	Name          map[string]string
	Description   map[string]string
	Code          string
	UserType      UserType
	LegalEntityID string
}

// Group is a set of subjects; it may contain other groups.
type Group struct {
	Tenant string
	ID     string
	GroupFields
	MemberCount int
	Version     int64
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// Apply validates f and writes it onto g. A displayName alone becomes the English name;
// a name alone gives the displayName (English, else the first language).
func (g *Group) Apply(f GroupFields) error {
	f.DisplayName = strings.TrimSpace(f.DisplayName)
	if f.DisplayName == "" && len(f.Name) == 0 {
		return errs.Fields("a group needs a name",
			errs.FieldError{Field: "displayName", Message: "required when name is absent"},
			errs.FieldError{Field: "name", Message: "required when displayName is absent"})
	}
	if len(f.Name) == 0 {
		f.Name = map[string]string{"en": f.DisplayName}
	}
	if f.DisplayName == "" {
		f.DisplayName = Localize(f.Name, "")
	}
	if f.Description == nil {
		f.Description = map[string]string{}
	}
	g.GroupFields = f
	return nil
}

// Subject is the group as a subject.
func (g *Group) Subject() Subject {
	n := int32(g.MemberCount)
	return Subject{Tenant: g.Tenant, Type: TypeGroup, ID: g.ID, DisplayName: g.DisplayName,
		Properties: Properties{Description: Localize(g.Description, ""), MemberCount: &n}}
}

// Localize picks the text for an Accept-Language header (see localize.Pick).
func Localize(m map[string]string, acceptLanguage string) string {
	return localize.Pick(m, acceptLanguage)
}

// GroupQuery filters a group listing.
type GroupQuery struct {
	Search   string
	UserType UserType
	Offset   int
	Limit    int
}
