package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/iam-subjects/api"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

func userFields(in *api.UserInput) subjects.UserFields {
	f := subjects.UserFields{
		Type: subjects.UserType(deref(in.UserType)), Username: deref(in.Username), Email: string(deref(in.Email)),
		EmailVerified: deref(in.EmailVerified),
		PhoneNumber:   deref(in.PhoneNumber), FirstName: deref(in.FirstName), LastName: deref(in.LastName),
		ContactEmail: string(deref(in.ContactEmail)), PreferredSite: deref(in.PreferredSite),
		PreferredCurrency: deref(in.PreferredCurrency), PreferredLanguage: deref(in.PreferredLanguage),
		Department: deref(in.Department), Status: string(deref(in.Status)), ValidFrom: in.ValidFrom,
		Locked: deref(in.IsAccountLocked), BackofficeUserNumber: deref(in.BackofficeUserNumber),
	}
	if in.GroupIds != nil {
		f.GroupIDs = append([]string{}, *in.GroupIds...)
	}
	return f
}

// userEcho is what the body sent of the user's id and read-only fields.
func userEcho(in *api.UserInput) subjects.UserEcho {
	e := subjects.UserEcho{ID: in.Id, SubjectID: in.SubjectId}
	if in.Groups != nil {
		e.GroupIDs = []string{}
		for _, g := range *in.Groups {
			e.GroupIDs = append(e.GroupIDs, g.Id)
		}
	}
	if in.Metadata != nil {
		e.CreatedAt, e.ModifiedAt = in.Metadata.CreatedAt, in.Metadata.ModifiedAt
	}
	return e
}

func userOut(u *subjects.User, groups []subjects.Group, lang string) api.User {
	created, modified := u.CreatedAt, u.ModifiedAt
	out := api.User{
		Id: u.ID, SubjectId: optional(subjects.Ref{Type: subjects.TypeUser, ID: u.ID}.String()), UserType: api.UserType(u.Type),
		Username: optional(u.Username), Email: optional(u.Email), EmailVerified: u.EmailVerified, PhoneNumber: optional(u.PhoneNumber),
		FirstName: optional(u.FirstName), LastName: optional(u.LastName), ContactEmail: optional(u.ContactEmail),
		PreferredSite: optional(u.PreferredSite), PreferredCurrency: optional(u.PreferredCurrency),
		PreferredLanguage: optional(u.PreferredLanguage), Department: optional(u.Department), Status: u.Status,
		BackofficeUserNumber: optional(u.BackofficeUserNumber),
		ValidFrom:            u.ValidFrom, IsAccountLocked: u.Locked, GroupIds: u.GroupIDs,
		Metadata: apicommon.Metadata{Version: u.Version, CreatedAt: &created, ModifiedAt: &modified},
	}
	if out.GroupIds == nil {
		out.GroupIds = []string{}
	}
	if groups != nil {
		gs := make([]api.Group, len(groups))
		for i := range groups {
			gs[i] = groupOut(&groups[i], lang)
		}
		out.Groups = &gs
	}
	return out
}

// ListUsers pages through users.
func (s *Server) ListUsers(ctx context.Context, req api.ListUsersRequestObject) (api.ListUsersResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	page, err := s.directory.Users(ctx, req.Tenant, subjects.UserQuery{Search: deref(req.Params.SearchQuery),
		Type: subjects.UserType(deref(req.Params.UserType)), Offset: p.Offset(), Limit: p.Size}, req.Params.Expand != nil)
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(page.Users), page.Total)
	out := api.ListUsers200JSONResponse{Data: make([]api.User, len(page.Users)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range page.Users {
		var groups []subjects.Group // nil: not expanded, so no groups field
		if page.Groups != nil {
			groups = append([]subjects.Group{}, page.Groups[page.Users[i].ID]...)
		}
		out.Data[i] = userOut(&page.Users[i], groups, deref(req.Params.AcceptLanguage))
	}
	return out, nil
}

// CreateUser creates a user.
func (s *Server) CreateUser(ctx context.Context, req api.CreateUserRequestObject) (api.CreateUserResponseObject, error) {
	u, err := s.directory.CreateUser(ctx, req.Tenant, userFields(req.Body), userEcho(req.Body))
	if err != nil {
		return nil, err
	}
	return api.CreateUser201JSONResponse{Body: userOut(u, nil, ""), Headers: api.CreateUser201ResponseHeaders{ETag: precondition.ETag(u.Version)}}, nil
}

// GetUser returns one user.
func (s *Server) GetUser(ctx context.Context, req api.GetUserRequestObject) (api.GetUserResponseObject, error) {
	u, groups, err := s.directory.User(ctx, req.Tenant, req.UserId, req.Params.Expand != nil)
	if err != nil {
		return nil, err
	}
	return api.GetUser200JSONResponse{Body: userOut(u, groups, deref(req.Params.AcceptLanguage)),
		Headers: api.GetUser200ResponseHeaders{ETag: precondition.ETag(u.Version)}}, nil
}

// ReplaceUser replaces a user and its direct groups.
func (s *Server) ReplaceUser(ctx context.Context, req api.ReplaceUserRequestObject) (api.ReplaceUserResponseObject, error) {
	pre, err := precondition.From(metadata(req.Body.Metadata), req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	u, err := s.directory.ReplaceUser(ctx, req.Tenant, req.UserId, userFields(req.Body), userEcho(req.Body), pre)
	if err != nil {
		return nil, err
	}
	return api.ReplaceUser200JSONResponse{Body: userOut(u, nil, ""), Headers: api.ReplaceUser200ResponseHeaders{ETag: precondition.ETag(u.Version)}}, nil
}

// DeleteUser deletes a user.
func (s *Server) DeleteUser(ctx context.Context, req api.DeleteUserRequestObject) (api.DeleteUserResponseObject, error) {
	if err := s.directory.DeleteUser(ctx, req.Tenant, req.UserId, deref(req.Params.ForceDelete)); err != nil {
		return nil, err
	}
	return api.DeleteUser204Response{}, nil
}

// ListUserGroups lists a user's groups.
func (s *Server) ListUserGroups(ctx context.Context, req api.ListUserGroupsRequestObject) (api.ListUserGroupsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	groups, total, err := s.directory.UserGroups(ctx, req.Tenant, req.UserId, deref(req.Params.Transitive), p.Offset(), p.Size)
	if err != nil {
		return nil, err
	}
	return api.ListUserGroups200JSONResponse(groupList(p, groups, total, deref(req.Params.AcceptLanguage))), nil
}

// RemoveUserFromAllGroups removes a user from every group.
func (s *Server) RemoveUserFromAllGroups(ctx context.Context, req api.RemoveUserFromAllGroupsRequestObject) (api.RemoveUserFromAllGroupsResponseObject, error) {
	if err := s.directory.RemoveUserFromAllGroups(ctx, req.Tenant, req.UserId); err != nil {
		return nil, err
	}
	return api.RemoveUserFromAllGroups204Response{}, nil
}
