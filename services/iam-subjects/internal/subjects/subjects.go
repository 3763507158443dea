// Package subjects is iam-subjects' domain: every kind of subject (user, group, client)
// behind one identifier scheme, type-id.
package subjects

import (
	"context"
	"strings"

	"github.com/iamplane/iam/pkg/errs"
)

// Type is the kind of a subject.
type Type string

const (
	User   Type = "User"
	Client Type = "Client"
	Group  Type = "Group"
)

var prefixes = map[string]Type{"user": User, "client": Client, "group": Group}

// Subject is a user, group or client as a subject of policies.
type Subject struct {
	Tenant      string
	Type        Type
	ID          string
	DisplayName string
	Properties  Properties
}

// Properties are the type-specific fields.
type Properties struct {
	Username    string
	Email       string
	PhoneNumber string
	IconURI     string
	Description string
	MemberCount *int32
}

// SubjectID is the fully-qualified id, e.g. client-7ujd2kq4h9vb6x3mn5wz.
func (s *Subject) SubjectID() string { return strings.ToLower(string(s.Type)) + "-" + s.ID }

// ParseID splits a fully-qualified subject id into its type and id.
func ParseID(subjectID string) (Type, string, error) {
	prefix, id, ok := strings.Cut(subjectID, "-")
	t, known := prefixes[prefix]
	if !ok || !known || id == "" {
		return "", "", errs.Fields("malformed subject id", errs.FieldError{Field: "subjectId", Message: "expected user-<id>, client-<id> or group-<id>"})
	}
	return t, id, nil
}

// Query filters a subject search.
type Query struct {
	Type   Type // empty: every type
	Search string
	Offset int
	Limit  int
}

// Store reads subjects.
type Store interface {
	Search(ctx context.Context, tenant string, q Query) ([]Subject, int, error)
	Get(ctx context.Context, tenant string, t Type, id string) (*Subject, error)
}
