// Package httpapi translates HTTP to iam-policies' use cases and back; nothing more.
package httpapi

import (
	"context"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/pagination"

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
