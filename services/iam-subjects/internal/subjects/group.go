package subjects

import (
	"slices"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/errs"
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

// Localize picks the text for an Accept-Language header: the first language it lists
// (by q-value order as written) that the map has, else English, else the first language
// alphabetically, so the answer is stable.
func Localize(m map[string]string, acceptLanguage string) string {
	if len(m) == 0 {
		return ""
	}
	for _, part := range strings.Split(acceptLanguage, ",") {
		lang := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		if v, ok := m[lang]; ok && lang != "" {
			return v
		}
		if base, _, ok := strings.Cut(lang, "-"); ok {
			if v, ok := m[base]; ok {
				return v
			}
		}
	}
	if v, ok := m["en"]; ok {
		return v
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return m[keys[0]]
}

// GroupQuery filters a group listing.
type GroupQuery struct {
	Search   string
	UserType UserType
	Offset   int
	Limit    int
}
