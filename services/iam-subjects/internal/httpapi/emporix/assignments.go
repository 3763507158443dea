package emporix

import (
	"context"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/dialect"

	api "github.com/iamplane/iam/services/iam-subjects/api/emporix"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

func assignmentID(groupID, userID string) string {
	return subjects.Assignment{GroupID: groupID, UserID: userID}.ID()
}

// EmporixListGroupUsers pages through a group's user assignments.
func (s *Server) EmporixListGroupUsers(ctx context.Context, req api.EmporixListGroupUsersRequestObject) (api.EmporixListGroupUsersResponseObject, error) {
	p := dialect.EmporixPageOf(req.Params.PageNumber, req.Params.PageSize)
	found, n, err := s.directory.GroupUsers(ctx, req.Tenant, req.GroupId, auth.FromContext(ctx), p.Offset(), p.Size)
	if err != nil {
		return nil, err
	}
	out := make([]api.Assignment, len(found))
	for i, a := range found {
		out[i] = api.Assignment{Id: a.ID(), GroupId: a.GroupID, UserId: a.UserID, UserType: api.UserType(a.UserType)}
	}
	return api.EmporixListGroupUsers200JSONResponse{Body: out, Headers: api.EmporixListGroupUsers200ResponseHeaders{XTotalCount: dialect.EmporixTotal(req.Params.XTotalCount, n)}}, nil
}

// EmporixAssignUser adds the body's user to the group.
func (s *Server) EmporixAssignUser(ctx context.Context, req api.EmporixAssignUserRequestObject) (api.EmporixAssignUserResponseObject, error) {
	if _, err := s.directory.AssignUser(ctx, req.Tenant, req.GroupId, subjects.UserType(req.Body.UserType), req.Body.UserId, auth.FromContext(ctx)); err != nil {
		return nil, err
	}
	return api.EmporixAssignUser201JSONResponse{Id: assignmentID(req.GroupId, req.Body.UserId)}, nil
}

// EmporixPutAssignment puts the user in the group (201) or confirms it is there (200).
func (s *Server) EmporixPutAssignment(ctx context.Context, req api.EmporixPutAssignmentRequestObject) (api.EmporixPutAssignmentResponseObject, error) {
	added, err := s.directory.AssignUser(ctx, req.Tenant, req.GroupId, subjects.UserType(req.UserType), req.UserId, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	if added {
		return api.EmporixPutAssignment201JSONResponse{Id: assignmentID(req.GroupId, req.UserId)}, nil
	}
	return api.EmporixPutAssignment200JSONResponse{Id: assignmentID(req.GroupId, req.UserId)}, nil
}

// EmporixRemoveUserFromGroup removes one user from a group.
func (s *Server) EmporixRemoveUserFromGroup(ctx context.Context, req api.EmporixRemoveUserFromGroupRequestObject) (api.EmporixRemoveUserFromGroupResponseObject, error) {
	if err := s.directory.RemoveUser(ctx, req.Tenant, req.GroupId, req.UserId, auth.FromContext(ctx)); err != nil {
		return nil, err
	}
	return api.EmporixRemoveUserFromGroup204Response{}, nil
}

// EmporixRemoveAllUsersFromGroup removes every user from a group.
func (s *Server) EmporixRemoveAllUsersFromGroup(ctx context.Context, req api.EmporixRemoveAllUsersFromGroupRequestObject) (api.EmporixRemoveAllUsersFromGroupResponseObject, error) {
	if err := s.directory.RemoveAllUsers(ctx, req.Tenant, req.GroupId); err != nil {
		return nil, err
	}
	return api.EmporixRemoveAllUsersFromGroup204Response{}, nil
}

// EmporixListUserGroups pages through the groups a user is directly in, sorted.
func (s *Server) EmporixListUserGroups(ctx context.Context, req api.EmporixListUserGroupsRequestObject) (api.EmporixListUserGroupsResponseObject, error) {
	p := dialect.EmporixPageOf(req.Params.PageNumber, req.Params.PageSize)
	sort, err := subjects.ParseSort("sort", deref(req.Params.Sort), subjects.GroupSortFields)
	if err != nil {
		return nil, err
	}
	groups, n, err := s.directory.Groups(ctx, req.Tenant, subjects.GroupQuery{Member: req.UserId, Sort: sort,
		Offset: p.Offset(), Limit: p.Size}, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return api.EmporixListUserGroups200JSONResponse{Body: groupsOut(groups), Headers: api.EmporixListUserGroups200ResponseHeaders{XTotalCount: dialect.EmporixTotal(req.Params.XTotalCount, n)}}, nil
}

// EmporixGetUserGroup returns one of the user's groups.
func (s *Server) EmporixGetUserGroup(ctx context.Context, req api.EmporixGetUserGroupRequestObject) (api.EmporixGetUserGroupResponseObject, error) {
	g, err := s.directory.UserGroup(ctx, req.Tenant, req.UserId, req.GroupId)
	if err != nil {
		return nil, err
	}
	return api.EmporixGetUserGroup200JSONResponse(groupOut(g)), nil
}

// EmporixRemoveUserFromAllGroups removes the user from every group.
func (s *Server) EmporixRemoveUserFromAllGroups(ctx context.Context, req api.EmporixRemoveUserFromAllGroupsRequestObject) (api.EmporixRemoveUserFromAllGroupsResponseObject, error) {
	if err := s.directory.RemoveUserFromAllGroups(ctx, req.Tenant, req.UserId); err != nil {
		return nil, err
	}
	return api.EmporixRemoveUserFromAllGroups204Response{}, nil
}
