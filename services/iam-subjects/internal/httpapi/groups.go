package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/iam-subjects/api"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

func groupFields(in *api.GroupInput) subjects.GroupFields {
	f := subjects.GroupFields{DisplayName: deref(in.DisplayName), Code: deref(in.Code), UserType: subjects.UserType(deref(in.UserType))}
	if in.Name != nil {
		f.Name = *in.Name
	}
	if in.Description != nil {
		f.Description = *in.Description
	}
	if in.B2b != nil {
		f.LegalEntityID = deref(in.B2b.LegalEntityId)
	}
	return f
}

// groupOut renders a group; with an Accept-Language, displayName and
// localizedDescription are in that language.
func groupOut(g *subjects.Group, lang string) api.Group {
	created, modified := g.CreatedAt, g.ModifiedAt
	display := g.DisplayName
	if lang != "" {
		if v := subjects.Localize(g.Name, lang); v != "" {
			display = v
		}
	}
	description := api.LocalizedText(g.Description)
	out := api.Group{
		Id: g.ID, SubjectId: optional(subjects.Ref{Type: subjects.TypeGroup, ID: g.ID}.String()), DisplayName: display,
		Name: g.Name, Description: &description, LocalizedDescription: optional(subjects.Localize(g.Description, lang)),
		Code: optional(g.Code), MemberCount: int32(g.MemberCount),
		Metadata: apicommon.Metadata{Version: g.Version, CreatedAt: &created, ModifiedAt: &modified},
	}
	if g.UserType != "" {
		t := api.UserType(g.UserType)
		out.UserType = &t
	}
	if g.LegalEntityID != "" {
		out.B2b = &api.B2B{LegalEntityId: &g.LegalEntityID}
	}
	return out
}

func groupList(p pagination.Page, groups []subjects.Group, total int, lang string) api.GroupList {
	info := p.Describe(len(groups), total)
	out := api.GroupList{Data: make([]api.Group, len(groups)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range groups {
		out.Data[i] = groupOut(&groups[i], lang)
	}
	return out
}

// ListGroups pages through groups.
func (s *Server) ListGroups(ctx context.Context, req api.ListGroupsRequestObject) (api.ListGroupsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	groups, total, err := s.directory.Groups(ctx, req.Tenant, subjects.GroupQuery{Search: deref(req.Params.SearchQuery),
		UserType: subjects.UserType(deref(req.Params.UserType)), Offset: p.Offset(), Limit: p.Size})
	if err != nil {
		return nil, err
	}
	return api.ListGroups200JSONResponse(groupList(p, groups, total, deref(req.Params.AcceptLanguage))), nil
}

// CreateGroup creates a group.
func (s *Server) CreateGroup(ctx context.Context, req api.CreateGroupRequestObject) (api.CreateGroupResponseObject, error) {
	g, err := s.directory.CreateGroup(ctx, req.Tenant, groupFields(req.Body))
	if err != nil {
		return nil, err
	}
	return api.CreateGroup201JSONResponse{Body: groupOut(g, ""), Headers: api.CreateGroup201ResponseHeaders{ETag: precondition.ETag(g.Version)}}, nil
}

// GetGroup returns one group.
func (s *Server) GetGroup(ctx context.Context, req api.GetGroupRequestObject) (api.GetGroupResponseObject, error) {
	g, err := s.directory.Group(ctx, req.Tenant, req.GroupId)
	if err != nil {
		return nil, err
	}
	return api.GetGroup200JSONResponse{Body: groupOut(g, deref(req.Params.AcceptLanguage)), Headers: api.GetGroup200ResponseHeaders{ETag: precondition.ETag(g.Version)}}, nil
}

// UpsertGroup creates or replaces a group.
func (s *Server) UpsertGroup(ctx context.Context, req api.UpsertGroupRequestObject) (api.UpsertGroupResponseObject, error) {
	pre, err := precondition.From(req.Body.Metadata, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	g, created, err := s.directory.UpsertGroup(ctx, req.Tenant, req.GroupId, groupFields(req.Body), pre)
	if err != nil {
		return nil, err
	}
	if created {
		return api.UpsertGroup201JSONResponse{Body: groupOut(g, ""), Headers: api.UpsertGroup201ResponseHeaders{ETag: precondition.ETag(g.Version)}}, nil
	}
	return api.UpsertGroup200JSONResponse{Body: groupOut(g, ""), Headers: api.UpsertGroup200ResponseHeaders{ETag: precondition.ETag(g.Version)}}, nil
}

// DeleteGroup deletes a group.
func (s *Server) DeleteGroup(ctx context.Context, req api.DeleteGroupRequestObject) (api.DeleteGroupResponseObject, error) {
	if err := s.directory.DeleteGroup(ctx, req.Tenant, req.GroupId, deref(req.Params.ForceDelete), auth.FromContext(ctx)); err != nil {
		return nil, err
	}
	return api.DeleteGroup204Response{}, nil
}
