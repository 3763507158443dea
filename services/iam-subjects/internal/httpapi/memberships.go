package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/pagination"

	"github.com/iamplane/iam/services/iam-subjects/api"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

// ListGroupMembers lists a group's members.
func (s *Server) ListGroupMembers(ctx context.Context, req api.ListGroupMembersRequestObject) (api.ListGroupMembersResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.directory.Members(ctx, req.Tenant, req.GroupId, deref(req.Params.Transitive), p.Offset(), p.Size)
	if err != nil {
		return nil, err
	}
	return api.ListGroupMembers200JSONResponse(subjectList(p, found, total)), nil
}

// AddGroupMembers adds subjects to a group.
func (s *Server) AddGroupMembers(ctx context.Context, req api.AddGroupMembersRequestObject) (api.AddGroupMembersResponseObject, error) {
	members, err := s.directory.AddMembers(ctx, req.Tenant, req.GroupId, req.Body.SubjectIds)
	if err != nil {
		return nil, err
	}
	out := make(api.AddGroupMembers200JSONResponse, len(members))
	for i, m := range members {
		out[i] = api.GroupMembership{GroupId: req.GroupId, SubjectId: m.String()}
	}
	return out, nil
}

// RemoveGroupMembers removes subjects from a group.
func (s *Server) RemoveGroupMembers(ctx context.Context, req api.RemoveGroupMembersRequestObject) (api.RemoveGroupMembersResponseObject, error) {
	if _, err := s.directory.RemoveMembers(ctx, req.Tenant, req.GroupId, req.Body.SubjectIds); err != nil {
		return nil, err
	}
	return api.RemoveGroupMembers204Response{}, nil
}

// RemoveAllUsersFromGroup removes every user from a group.
func (s *Server) RemoveAllUsersFromGroup(ctx context.Context, req api.RemoveAllUsersFromGroupRequestObject) (api.RemoveAllUsersFromGroupResponseObject, error) {
	if err := s.directory.RemoveAllUsers(ctx, req.Tenant, req.GroupId); err != nil {
		return nil, err
	}
	return api.RemoveAllUsersFromGroup204Response{}, nil
}

// RemoveUserFromGroup removes one user from a group.
func (s *Server) RemoveUserFromGroup(ctx context.Context, req api.RemoveUserFromGroupRequestObject) (api.RemoveUserFromGroupResponseObject, error) {
	if err := s.directory.RemoveUser(ctx, req.Tenant, req.GroupId, req.UserId, auth.FromContext(ctx)); err != nil {
		return nil, err
	}
	return api.RemoveUserFromGroup204Response{}, nil
}

// AssignUserToGroup puts a user in a group (201) or confirms it is there (200).
func (s *Server) AssignUserToGroup(ctx context.Context, req api.AssignUserToGroupRequestObject) (api.AssignUserToGroupResponseObject, error) {
	added, err := s.directory.AssignUser(ctx, req.Tenant, req.GroupId, subjects.UserType(req.UserType), req.UserId, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	if added {
		return api.AssignUserToGroup201JSONResponse{Added: 1}, nil
	}
	return api.AssignUserToGroup200JSONResponse{}, nil
}
