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
		f.Description = description(*in.Description)
	}
	if in.B2b != nil {
		f.LegalEntityID = deref(in.B2b.LegalEntityId)
	}
	if in.AccessControls != nil {
		f.AccessControls = *in.AccessControls
	}
	if in.Templates != nil {
		f.Templates = *in.Templates
	}
	return f
}

// description reads a localized description or Aritma's plain string, the English text.
func description(d api.DescriptionInput) map[string]string {
	if text, err := d.AsDescriptionInput0(); err == nil {
		return map[string]string{"en": text}
	}
	m, _ := d.AsLocalizedText() // the validator let only these two shapes through
	return m
}

// groupEcho is what the body sent back of the group's read-only fields.
func groupEcho(in *api.GroupInput) subjects.GroupEcho {
	e := subjects.GroupEcho{ID: in.Id, SubjectID: in.SubjectId, Type: in.Type, Tenant: in.Tenant,
		MemberCount: intPtr(in.MemberCount), LocalizedDescription: in.LocalizedDescription}
	if in.Properties != nil {
		e.PropertiesDescription = in.Properties.Description
		e.PropertiesMemberCount = intPtr(&in.Properties.MemberCount)
	}
	if in.Metadata != nil {
		e.CreatedAt, e.ModifiedAt = in.Metadata.CreatedAt, in.Metadata.ModifiedAt
	}
	return e
}

func intPtr(n *int32) *int {
	if n == nil {
		return nil
	}
	v := int(*n)
	return &v
}

// metadata is the version part of a written metadata, for the precondition.
func metadata(m *api.MetadataInput) *apicommon.Metadata {
	if m == nil {
		return nil
	}
	return &apicommon.Metadata{Version: m.Version}
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
	accessControls, templates := append([]string{}, g.AccessControls...), append([]string{}, g.Templates...)
	out := api.Group{
		Id: g.ID, SubjectId: subjects.Ref{Type: subjects.TypeGroup, ID: g.ID}.String(), Type: api.GroupTypeGroup, Tenant: g.Tenant,
		Properties:  api.GroupProperties{Description: optional(subjects.Localize(g.Description, lang)), MemberCount: int32(g.MemberCount)},
		DisplayName: display, Name: g.Name, Description: &description, LocalizedDescription: optional(subjects.Localize(g.Description, lang)),
		Code: optional(g.Code), MemberCount: int32(g.MemberCount), AccessControls: &accessControls, Templates: &templates,
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
		UserType: subjects.UserType(deref(req.Params.UserType)), Offset: p.Offset(), Limit: p.Size}, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return api.ListGroups200JSONResponse(groupList(p, groups, total, deref(req.Params.AcceptLanguage))), nil
}

// CreateGroup creates a group.
func (s *Server) CreateGroup(ctx context.Context, req api.CreateGroupRequestObject) (api.CreateGroupResponseObject, error) {
	g, err := s.directory.CreateGroup(ctx, req.Tenant, groupFields(req.Body), groupEcho(req.Body))
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
	pre, err := precondition.From(metadata(req.Body.Metadata), req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	g, created, err := s.directory.UpsertGroup(ctx, req.Tenant, req.GroupId, groupFields(req.Body), groupEcho(req.Body), pre)
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
