package emporix

import (
	"context"
	"errors"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/dialect"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/precondition"

	api "github.com/iamplane/iam/services/iam-subjects/api/emporix"
	"github.com/iamplane/iam/services/iam-subjects/internal/subjects"
)

func groupFields(in *api.GroupInput) subjects.GroupFields {
	f := subjects.GroupFields{Name: in.Name, Code: deref(in.Code), UserType: subjects.UserType(deref(in.UserType)),
		AccessControls: deref(in.AccessControls), Templates: deref(in.Templates)}
	if in.Description != nil {
		f.Description = *in.Description
	}
	if in.B2b != nil {
		f.LegalEntityID = deref(in.B2b.LegalEntityId)
	}
	return f
}

// groupEcho is the id and the read-only timestamps a body sent back.
func groupEcho(in *api.GroupInput) subjects.GroupEcho {
	e := subjects.GroupEcho{ID: in.Id}
	if in.Metadata != nil {
		e.CreatedAt, e.ModifiedAt = in.Metadata.CreatedAt, in.Metadata.ModifiedAt
	}
	return e
}

func groupOut(g *subjects.Group) api.Group {
	created, modified := g.CreatedAt, g.ModifiedAt
	out := api.Group{Id: g.ID, Name: g.Name, Description: ptrMap(g.Description), Code: optional(g.Code),
		AccessControls: &g.AccessControls, Templates: &g.Templates,
		Metadata: api.Metadata{Version: g.Version, CreatedAt: &created, ModifiedAt: &modified}}
	if g.UserType != "" {
		t := api.UserType(g.UserType)
		out.UserType = &t
	}
	if g.LegalEntityID != "" {
		out.B2b = &api.B2B{LegalEntityId: &g.LegalEntityID}
	}
	return out
}

func groupsOut(groups []subjects.Group) []api.Group {
	out := make([]api.Group, len(groups))
	for i := range groups {
		out[i] = groupOut(&groups[i])
	}
	return out
}

// EmporixListGroups pages through groups, filtered and sorted.
func (s *Server) EmporixListGroups(ctx context.Context, req api.EmporixListGroupsRequestObject) (api.EmporixListGroupsResponseObject, error) {
	p := dialect.EmporixPageOf(req.Params.PageNumber, req.Params.PageSize)
	sort, err := subjects.ParseSort("sort", deref(req.Params.Sort), subjects.GroupSortFields)
	if err != nil {
		return nil, err
	}
	since, err := modifiedSince(req.Params.MetadataModifiedAt)
	if err != nil {
		return nil, err
	}
	groups, n, err := s.directory.Groups(ctx, req.Tenant, subjects.GroupQuery{UserType: subjects.UserType(deref(req.Params.UserType)),
		Name: deref(req.Params.Name), Description: deref(req.Params.Description), ModifiedSince: since, Sort: sort,
		Offset: p.Offset(), Limit: p.Size}, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return api.EmporixListGroups200JSONResponse{Body: groupsOut(groups), Headers: api.EmporixListGroups200ResponseHeaders{XTotalCount: dialect.EmporixTotal(req.Params.XTotalCount, n)}}, nil
}

// EmporixCreateGroup creates a group, under the id the body names if any.
func (s *Server) EmporixCreateGroup(ctx context.Context, req api.EmporixCreateGroupRequestObject) (api.EmporixCreateGroupResponseObject, error) {
	g, err := s.directory.CreateGroup(ctx, req.Tenant, groupFields(req.Body), groupEcho(req.Body))
	if err != nil {
		return nil, err
	}
	return api.EmporixCreateGroup201JSONResponse{Id: g.ID}, nil
}

// EmporixGetGroup returns one group.
func (s *Server) EmporixGetGroup(ctx context.Context, req api.EmporixGetGroupRequestObject) (api.EmporixGetGroupResponseObject, error) {
	g, err := s.directory.Group(ctx, req.Tenant, req.GroupId)
	if err != nil {
		return nil, err
	}
	return api.EmporixGetGroup200JSONResponse(groupOut(g)), nil
}

// EmporixUpsertGroup replaces or creates a group; metadata.version makes it conditional.
func (s *Server) EmporixUpsertGroup(ctx context.Context, req api.EmporixUpsertGroupRequestObject) (api.EmporixUpsertGroupResponseObject, error) {
	pre := precondition.Version{Optional: true}
	if req.Body.Metadata != nil {
		pre.Body = &req.Body.Metadata.Version
	}
	g, created, err := s.directory.UpsertGroup(ctx, req.Tenant, req.GroupId, groupFields(req.Body), groupEcho(req.Body), pre)
	if err != nil {
		return nil, err
	}
	if created {
		return api.EmporixUpsertGroup201JSONResponse{Id: g.ID}, nil
	}
	return api.EmporixUpsertGroup200JSONResponse{Id: g.ID}, nil
}

// EmporixDeleteGroup deletes a group.
func (s *Server) EmporixDeleteGroup(ctx context.Context, req api.EmporixDeleteGroupRequestObject) (api.EmporixDeleteGroupResponseObject, error) {
	if err := s.directory.DeleteGroup(ctx, req.Tenant, req.GroupId, deref(req.Params.ForceDelete), auth.FromContext(ctx)); err != nil {
		// Emporix answers a group with users, deleted without forceDelete, with a 400.
		var conflict *errs.Error
		if errors.As(err, &conflict) && conflict.Kind == errs.Conflict {
			return nil, &errs.Error{Kind: errs.BadRequest, Detail: "Constraint validation failed",
				Fields: []errs.FieldError{{Field: "forceDelete", Message: conflict.Detail}}, Err: err}
		}
		return nil, err
	}
	return api.EmporixDeleteGroup204Response{}, nil
}
