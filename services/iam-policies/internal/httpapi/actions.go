package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/actions"
)

func actionOut(a *actions.Action) api.Action {
	created, modified := a.CreatedAt, a.ModifiedAt
	return api.Action{Id: a.ID, DisplayName: a.DisplayName, Description: &a.Description,
		Metadata: apicommon.Metadata{Version: a.Version, CreatedAt: &created, ModifiedAt: &modified}}
}

// ListActions pages through the catalog.
func (s *Server) ListActions(ctx context.Context, req api.ListActionsRequestObject) (api.ListActionsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.actions.List(ctx, req.Tenant, actions.Query{Search: deref(req.Params.SearchQuery), Offset: p.Offset(), Limit: p.Size})
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(found), total)
	out := api.ListActions200JSONResponse{Data: make([]api.Action, len(found)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range found {
		out.Data[i] = actionOut(&found[i])
	}
	return out, nil
}

// CreateAction adds an action to the catalog.
func (s *Server) CreateAction(ctx context.Context, req api.CreateActionRequestObject) (api.CreateActionResponseObject, error) {
	a, err := s.actions.Create(ctx, req.Tenant, req.Body.Id, req.Body.DisplayName, deref(req.Body.Description))
	if err != nil {
		return nil, err
	}
	return api.CreateAction201JSONResponse(actionOut(a)), nil
}

// GetAction reads one action.
func (s *Server) GetAction(ctx context.Context, req api.GetActionRequestObject) (api.GetActionResponseObject, error) {
	a, err := s.actions.Get(ctx, req.Tenant, req.ActionId)
	if err != nil {
		return nil, err
	}
	return api.GetAction200JSONResponse{Body: actionOut(a), Headers: api.GetAction200ResponseHeaders{ETag: precondition.ETag(a.Version)}}, nil
}

// UpdateAction changes an action's names.
func (s *Server) UpdateAction(ctx context.Context, req api.UpdateActionRequestObject) (api.UpdateActionResponseObject, error) {
	pre, err := precondition.From(metadataIn(req.Body.Metadata), req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	echo := actions.Echo{ID: req.Body.Id}
	if m := req.Body.Metadata; m != nil {
		echo.CreatedAt, echo.ModifiedAt = m.CreatedAt, m.ModifiedAt
	}
	a, err := s.actions.Update(ctx, req.Tenant, req.ActionId, req.Body.DisplayName, deref(req.Body.Description), echo, pre)
	if err != nil {
		return nil, err
	}
	return api.UpdateAction200JSONResponse{Body: actionOut(a), Headers: api.UpdateAction200ResponseHeaders{ETag: precondition.ETag(a.Version)}}, nil
}

// DeleteAction removes an action no policy grants.
func (s *Server) DeleteAction(ctx context.Context, req api.DeleteActionRequestObject) (api.DeleteActionResponseObject, error) {
	if err := s.actions.Delete(ctx, req.Tenant, req.ActionId); err != nil {
		return nil, err
	}
	return api.DeleteAction204Response{}, nil
}
