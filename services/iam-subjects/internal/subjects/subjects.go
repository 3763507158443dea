// Package subjects is iam-subjects' domain: users, groups and memberships, and every kind
// of subject (user, group, client) behind one identifier scheme, type-id.
package subjects

import (
	"context"
	"fmt"
	"strings"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/pagination"
)

// Type is the kind of a subject.
type Type string

const (
	TypeUser   Type = "User"
	TypeClient Type = "Client"
	TypeGroup  Type = "Group"
)

var prefixes = map[string]Type{"user": TypeUser, "client": TypeClient, "group": TypeGroup}

// Prefix is the type's lower-case prefix in subject ids.
func (t Type) Prefix() string { return strings.ToLower(string(t)) }

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
func (s *Subject) SubjectID() string { return Ref{s.Type, s.ID}.String() }

// Ref names a subject without its data.
type Ref struct {
	Type Type
	ID   string
}

func (r Ref) String() string { return r.Type.Prefix() + "-" + r.ID }

// ParseID splits a fully-qualified subject id into its type and id.
func ParseID(subjectID string) (Ref, error) {
	prefix, id, ok := strings.Cut(subjectID, "-")
	t, known := prefixes[prefix]
	if !ok || !known || id == "" || !validID(id) {
		return Ref{}, errs.Fields("malformed subject id", errs.FieldError{Field: "subjectId", Message: "expected user-<id>, client-<id> or group-<id>"})
	}
	return Ref{t, id}, nil
}

// ParseIDs parses many subject ids, reporting every malformed one by its index.
func ParseIDs(field string, ids []string) ([]Ref, error) {
	refs := make([]Ref, 0, len(ids))
	var bad []errs.FieldError
	seen := make(map[Ref]bool, len(ids))
	for i, id := range ids {
		r, err := ParseID(id)
		if err != nil {
			bad = append(bad, errs.FieldError{Field: fmt.Sprintf("%s.%d", field, i), Message: fmt.Sprintf("%q is not user-<id>, client-<id> or group-<id>", id)})
			continue
		}
		if !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	if len(bad) > 0 {
		return nil, errs.Fields("malformed subject ids", bad...)
	}
	return refs, nil
}

func validID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Query filters a subject search.
type Query struct {
	Type   Type // empty: every type
	Search string
	Offset int
	Limit  int
}

// SubjectStore is the subject index: users, groups and clients in one table.
type SubjectStore interface {
	Search(ctx context.Context, tenant string, q Query) ([]Subject, int, error)
	Get(ctx context.Context, tenant string, r Ref) (*Subject, error)
}

// Search pages through subjects of every type (or of q.Type) by display name.
func (d *Directory) Search(ctx context.Context, tenant string, q Query) ([]Subject, int, error) {
	q.Search = strings.TrimSpace(q.Search)
	return d.store.Search(ctx, tenant, q)
}

// Subject returns the subject with this fully-qualified id.
func (d *Directory) Subject(ctx context.Context, tenant, subjectID string) (*Subject, error) {
	ref, err := ParseID(subjectID)
	if err != nil {
		return nil, err
	}
	return d.store.Get(ctx, tenant, ref)
}

// SubjectGroups lists the groups a subject is in, as subjects.
func (d *Directory) SubjectGroups(ctx context.Context, tenant, subjectID string, transitive bool, offset, limit int) ([]Subject, int, error) {
	ref, err := ParseID(subjectID)
	if err != nil {
		return nil, 0, err
	}
	groups, total, err := d.store.GroupsOf(ctx, tenant, ref, transitive, offset, limit)
	if err != nil {
		return nil, 0, err
	}
	return groupSubjects(groups), total, nil
}

// Me is the caller as a subject, with the groups it is in, directly or through nesting
// (up to a page's maximum). A token whose sub is no subject id is not found rather than
// malformed: the caller sent no id.
func (d *Directory) Me(ctx context.Context, tenant string, caller *auth.Claims) (*Subject, []Subject, error) {
	if caller == nil {
		return nil, nil, errs.E(errs.Unauthorized, "no caller")
	}
	ref, err := ParseID(caller.Subject)
	if err != nil {
		return nil, nil, errs.E(errs.NotFound, "the caller %q is not a subject of this directory", caller.Subject)
	}
	sub, err := d.store.Get(ctx, tenant, ref)
	if err != nil {
		return nil, nil, err
	}
	groups, _, err := d.store.GroupsOf(ctx, tenant, ref, true, 0, pagination.MaxSize)
	if err != nil {
		return nil, nil, err
	}
	return sub, groupSubjects(groups), nil
}

func groupSubjects(groups []Group) []Subject {
	out := make([]Subject, len(groups))
	for i := range groups {
		out[i] = groups[i].Subject()
	}
	return out
}
