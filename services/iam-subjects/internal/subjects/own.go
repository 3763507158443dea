package subjects

import (
	"context"
	"slices"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
)

// Emporix's *_own scopes let a customer act on their own company only:
//
//   - iam.group_read_own reads groups of CUSTOMER type only;
//   - iam.user_read_own lists a group's users of the caller's company only;
//   - iam.assignment_create_own and iam.assignment_delete_own add a user to, or remove
//     one from, a group only when the user is of the caller's company.
//
// A user's company is the B2B legal entities (b2b.legalEntityId) of the groups the user
// is directly in; two users are of the same company when they share one. A caller holding
// the full scope (or the umbrella services.iam) is not restricted.

// Scopes with an _own variant.
const (
	ScopeGroupRead        = "iam.group_read"
	ScopeUserRead         = "iam.user_read"
	ScopeAssignmentManage = "iam.assignment_manage"
)

// ownOnly reports whether caller is restricted to their own company for an operation
// whose full right is full: it holds neither that scope nor the umbrella scope.
func ownOnly(caller *auth.Claims, full string) bool {
	return caller != nil && !caller.HasScope(auth.AdminScope) && !caller.HasScope(full)
}

// callerCompanies are the legal entities of the calling user; a caller that is no user
// (a client) has none.
func (d *Directory) callerCompanies(ctx context.Context, tenant string, caller *auth.Claims) ([]string, error) {
	ref, err := ParseID(caller.Subject)
	if err != nil || ref.Type != TypeUser {
		return nil, nil
	}
	return d.companies(ctx, tenant, ref.ID)
}

func (d *Directory) companies(ctx context.Context, tenant, userID string) ([]string, error) {
	byUser, err := d.store.DirectGroups(ctx, tenant, []string{userID})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range byUser[userID] {
		if g.LegalEntityID != "" && !slices.Contains(out, g.LegalEntityID) {
			out = append(out, g.LegalEntityID)
		}
	}
	return out, nil
}

// checkSameCompany refuses (403) a caller restricted to its own company acting on a user
// of another company.
func (d *Directory) checkSameCompany(ctx context.Context, tenant string, caller *auth.Claims, userID string) error {
	if !ownOnly(caller, ScopeAssignmentManage) {
		return nil
	}
	mine, err := d.callerCompanies(ctx, tenant, caller)
	if err != nil {
		return err
	}
	theirs, err := d.companies(ctx, tenant, userID)
	if err != nil {
		return err
	}
	for _, c := range mine {
		if slices.Contains(theirs, c) {
			return nil
		}
	}
	return errs.E(errs.Forbidden, "user %q is not of the caller's company; that needs the scope %s", userID, ScopeAssignmentManage)
}

// ownGroupQuery restricts a group listing for a caller holding only iam.group_read_own to
// CUSTOMER groups; asking for another type is refused.
func ownGroupQuery(caller *auth.Claims, q GroupQuery) (GroupQuery, error) {
	if !ownOnly(caller, ScopeGroupRead) {
		return q, nil
	}
	if q.UserType != "" && q.UserType != Customer {
		return q, errs.E(errs.Forbidden, "iam.group_read_own reads CUSTOMER groups only; %s groups need the scope %s", q.UserType, ScopeGroupRead)
	}
	q.UserType = Customer
	return q, nil
}

// Assignment is one user's direct membership of a group, as Emporix lists them.
type Assignment struct {
	GroupID  string
	UserID   string
	UserType UserType
}

// ID is the assignment's id: the membership's key, <groupId>~user-<userId>.
func (a Assignment) ID() string {
	return a.GroupID + "~" + Ref{TypeUser, a.UserID}.String()
}

// GroupUsers lists a group's direct user members; a caller holding only
// iam.user_read_own sees those of its own company.
func (d *Directory) GroupUsers(ctx context.Context, tenant, groupID string, caller *auth.Claims, offset, limit int) ([]Assignment, int, error) {
	if _, err := d.store.GetGroup(ctx, tenant, groupID); err != nil {
		return nil, 0, err
	}
	var companies []string // nil: every user
	if ownOnly(caller, ScopeUserRead) {
		mine, err := d.callerCompanies(ctx, tenant, caller)
		if err != nil {
			return nil, 0, err
		}
		companies = append([]string{}, mine...)
	}
	return d.store.GroupUsers(ctx, tenant, groupID, companies, offset, limit)
}
