package emporix

import (
	"context"

	"github.com/iamplane/iam/pkg/dialect"
	"github.com/iamplane/iam/pkg/precondition"

	api "github.com/iamplane/iam/services/iam-subjects/api/emporix"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// setUserFields writes the fields an Emporix body carries onto f; those it does not
// carry (username, email, phone number) stay as they are.
func setUserFields(in *api.UserInput, f *subjects.UserFields) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&f.FirstName, in.FirstName)
	set(&f.LastName, in.LastName)
	if in.ContactEmail != nil {
		f.ContactEmail = string(*in.ContactEmail)
	}
	set(&f.BackofficeUserNumber, in.BackofficeUserNumber)
	set(&f.PreferredSite, in.PreferredSite)
	set(&f.PreferredCurrency, in.PreferredCurrency)
	set(&f.PreferredLanguage, in.PreferredLanguage)
	set(&f.Department, in.Department)
	if in.UserType != nil {
		f.Type = subjects.UserType(*in.UserType)
	}
	if in.Status != nil {
		f.Status = string(*in.Status)
	}
	if in.ValidFrom != nil {
		f.ValidFrom = in.ValidFrom
	}
	if in.IsAccountLocked != nil {
		f.Locked = *in.IsAccountLocked
	}
	// Emporix: "the user will be deleted from all groups and assigned to a given group
	// list based on the groupIds field"; absent is none.
	f.GroupIDs = append([]string{}, deref(in.GroupIds)...)
}

func userOut(u *subjects.User, groups []subjects.Group) api.User {
	t := api.UserType(u.Type)
	out := api.User{
		Id: u.ID, FirstName: optional(u.FirstName), LastName: optional(u.LastName), BackofficeUserNumber: optional(u.BackofficeUserNumber),
		PreferredSite: optional(u.PreferredSite), PreferredCurrency: optional(u.PreferredCurrency), PreferredLanguage: optional(u.PreferredLanguage),
		Department: optional(u.Department), ValidFrom: u.ValidFrom, IsAccountLocked: u.Locked, ContactEmail: optional(u.ContactEmail),
		Status: u.Status, UserType: &t, GroupIds: append([]string{}, u.GroupIDs...),
	}
	if groups != nil {
		gs := make([]api.UserGroup, len(groups))
		for i, g := range groups {
			gs[i] = api.UserGroup{Id: g.ID, Name: g.Name, Description: ptrMap(g.Description), Code: optional(g.Code)}
			if g.UserType != "" {
				ut := api.UserType(g.UserType)
				gs[i].UserType = &ut
			}
		}
		out.Groups = &gs
	}
	return out
}

func ptrMap(m map[string]string) *api.LocalizedText {
	if len(m) == 0 {
		return nil
	}
	t := api.LocalizedText(m)
	return &t
}

// EmporixListUsers pages through users.
func (s *Server) EmporixListUsers(ctx context.Context, req api.EmporixListUsersRequestObject) (api.EmporixListUsersResponseObject, error) {
	p := dialect.EmporixPageOf(req.Params.PageNumber, req.Params.PageSize)
	found, err := s.directory.Users(ctx, req.Tenant, subjects.UserQuery{Type: subjects.UserType(deref(req.Params.UserType)),
		Offset: p.Offset(), Limit: p.Size}, req.Params.Expand != nil)
	if err != nil {
		return nil, err
	}
	out := make([]api.User, len(found.Users))
	for i := range found.Users {
		var groups []subjects.Group
		if found.Groups != nil {
			groups = append([]subjects.Group{}, found.Groups[found.Users[i].ID]...)
		}
		out[i] = userOut(&found.Users[i], groups)
	}
	return api.EmporixListUsers200JSONResponse{Body: out, Headers: api.EmporixListUsers200ResponseHeaders{XTotalCount: dialect.EmporixTotal(req.Params.XTotalCount, found.Total)}}, nil
}

// EmporixCreateUser creates a user, under the id the body names if any.
func (s *Server) EmporixCreateUser(ctx context.Context, req api.EmporixCreateUserRequestObject) (api.EmporixCreateUserResponseObject, error) {
	var f subjects.UserFields
	setUserFields(req.Body, &f)
	u, err := s.directory.CreateUser(ctx, req.Tenant, f, subjects.UserEcho{ID: req.Body.Id})
	if err != nil {
		return nil, err
	}
	return api.EmporixCreateUser201JSONResponse{Id: u.ID}, nil
}

// EmporixGetUser returns one user.
func (s *Server) EmporixGetUser(ctx context.Context, req api.EmporixGetUserRequestObject) (api.EmporixGetUserResponseObject, error) {
	u, groups, err := s.directory.User(ctx, req.Tenant, req.UserId, req.Params.Expand != nil)
	if err != nil {
		return nil, err
	}
	return api.EmporixGetUser200JSONResponse(userOut(u, groups)), nil
}

// EmporixUpdateUser changes the fields the body carries and replaces the user's groups.
func (s *Server) EmporixUpdateUser(ctx context.Context, req api.EmporixUpdateUserRequestObject) (api.EmporixUpdateUserResponseObject, error) {
	if _, err := s.directory.ChangeUser(ctx, req.Tenant, req.UserId, func(f *subjects.UserFields) { setUserFields(req.Body, f) },
		subjects.UserEcho{ID: req.Body.Id}, precondition.Version{Optional: true}); err != nil {
		return nil, err
	}
	return api.EmporixUpdateUser204Response{}, nil
}

// EmporixDeleteUser deletes a user.
func (s *Server) EmporixDeleteUser(ctx context.Context, req api.EmporixDeleteUserRequestObject) (api.EmporixDeleteUserResponseObject, error) {
	if err := s.directory.DeleteUser(ctx, req.Tenant, req.UserId, deref(req.Params.ForceDelete)); err != nil {
		return nil, err
	}
	return api.EmporixDeleteUser204Response{}, nil
}
