// Package httpapi translates HTTP to consent's use cases and back; nothing more.
package httpapi

import (
	"context"
	"strings"
	"time"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/pagination"

	"github.com/iamplane/iam/services/consent/api"
	"github.com/iamplane/iam/services/consent/internal/consents"
)

// Server implements the generated strict server interface.
type Server struct {
	Actions consents.ActionStore
	Book    *consents.Book
}

var _ api.StrictServerInterface = (*Server)(nil)

func actionOut(a *consents.Action) api.ConsentAction {
	created, modified := a.CreatedAt, a.ModifiedAt
	return api.ConsentAction{Id: a.ID, Name: a.Name, Description: &a.Description,
		Metadata: apicommon.Metadata{Version: a.Version, CreatedAt: &created, ModifiedAt: &modified}}
}

// ListConsentActions pages through the tenant's consent actions.
func (s *Server) ListConsentActions(ctx context.Context, req api.ListConsentActionsRequestObject) (api.ListConsentActionsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	q := consents.Query{Offset: p.Offset(), Limit: p.Size}
	if req.Params.SearchQuery != nil {
		q.Search = strings.TrimSpace(*req.Params.SearchQuery)
	}
	found, total, err := s.Actions.List(ctx, req.Tenant, q)
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(found), total)
	out := api.ListConsentActions200JSONResponse{Data: make([]api.ConsentAction, len(found)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range found {
		out.Data[i] = actionOut(&found[i])
	}
	return out, nil
}

// CreateConsentAction adds a consent action with a server-generated id.
func (s *Server) CreateConsentAction(ctx context.Context, req api.CreateConsentActionRequestObject) (api.CreateConsentActionResponseObject, error) {
	description := ""
	if req.Body.Description != nil {
		description = *req.Body.Description
	}
	a := consents.New(req.Tenant, req.Body.Name, description, time.Now().UTC())
	if err := s.Actions.Add(ctx, a); err != nil {
		return nil, err
	}
	return api.CreateConsentAction201JSONResponse(actionOut(a)), nil
}
