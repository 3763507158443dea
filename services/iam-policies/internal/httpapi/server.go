// Package httpapi translates HTTP to iam-policies' use cases and back; nothing more.
package httpapi

import (
	"context"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/version"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/actions"
	"github.com/iamplane/iam/services/iam-policies/internal/policies"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

// Server implements the generated strict server interface.
type Server struct {
	Actions  actions.Store
	Policies *policies.Engine
	RBAC     *rbac.Catalog
}

var _ api.StrictServerInterface = (*Server)(nil)

func actionOut(a *actions.Action) api.Action {
	created, modified := a.CreatedAt, a.ModifiedAt
	return api.Action{Id: a.ID, DisplayName: a.DisplayName, Description: &a.Description,
		Metadata: apicommon.Metadata{Version: a.Version, CreatedAt: &created, ModifiedAt: &modified}}
}

// ListActions pages through the catalog.
func (s *Server) ListActions(ctx context.Context, req api.ListActionsRequestObject) (api.ListActionsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	q := actions.Query{Offset: p.Offset(), Limit: p.Size}
	if req.Params.SearchQuery != nil {
		q.Search = strings.TrimSpace(*req.Params.SearchQuery)
	}
	found, total, err := s.Actions.List(ctx, req.Tenant, q)
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
	description := ""
	if req.Body.Description != nil {
		description = *req.Body.Description
	}
	a := actions.New(req.Tenant, req.Body.Id, req.Body.DisplayName, description, time.Now().UTC())
	if err := s.Actions.Add(ctx, a); err != nil {
		return nil, err
	}
	return api.CreateAction201JSONResponse(actionOut(a)), nil
}

// GetAction reads one action.
func (s *Server) GetAction(ctx context.Context, req api.GetActionRequestObject) (api.GetActionResponseObject, error) {
	a, err := s.Actions.Get(ctx, req.Tenant, req.ActionId)
	if err != nil {
		return nil, err
	}
	return api.GetAction200JSONResponse{Body: actionOut(a), Headers: api.GetAction200ResponseHeaders{ETag: version.ETag(a.Version)}}, nil
}

// UpdateAction changes an action's names.
func (s *Server) UpdateAction(ctx context.Context, req api.UpdateActionRequestObject) (api.UpdateActionResponseObject, error) {
	pre, err := version.From(req.Body.Metadata, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	a, err := s.Actions.Update(ctx, req.Tenant, req.ActionId, req.Body.DisplayName, deref(req.Body.Description), pre)
	if err != nil {
		return nil, err
	}
	return api.UpdateAction200JSONResponse{Body: actionOut(a), Headers: api.UpdateAction200ResponseHeaders{ETag: version.ETag(a.Version)}}, nil
}

// DeleteAction removes an action no policy grants.
func (s *Server) DeleteAction(ctx context.Context, req api.DeleteActionRequestObject) (api.DeleteActionResponseObject, error) {
	if err := s.Actions.Delete(ctx, req.Tenant, req.ActionId); err != nil {
		return nil, err
	}
	return api.DeleteAction204Response{}, nil
}
