package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/oauth-clients/api"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
)

// search is searchQuery, or Aritma's searchText when searchQuery is absent.
func search(query, text *string) string {
	if query != nil {
		return *query
	}
	return deref(text)
}

func clientPage(p pagination.Page, page clients.Page) api.ClientList {
	info := p.Describe(len(page.Clients), page.Total)
	out := api.ClientList{Data: make([]api.Client, len(page.Clients)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range page.Clients {
		out.Data[i] = clientOut(&page.Clients[i])
	}
	return out
}

// ListDeveloperClients pages through the caller's clients.
func (s *Server) ListDeveloperClients(ctx context.Context, req api.ListDeveloperClientsRequestObject) (api.ListDeveloperClientsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	page, err := s.clients.ListOwned(ctx, req.Tenant, clients.ListQuery{Search: search(req.Params.SearchQuery, req.Params.SearchText),
		Developer: deref(req.Params.DeveloperId), Offset: p.Offset(), Limit: p.Size}, caller(ctx))
	if err != nil {
		return nil, err
	}
	return api.ListDeveloperClients200JSONResponse(clientPage(p, page)), nil
}

// CreateDeveloperClient registers a client owned by the caller; its secret is shown once.
func (s *Server) CreateDeveloperClient(ctx context.Context, req api.CreateDeveloperClientRequestObject) (api.CreateDeveloperClientResponseObject, error) {
	st := stated(req.Body)
	if st.ID != nil {
		return nil, errs.Fields("a developer's client gets a generated id", errs.FieldError{Field: "clientId", Message: "cannot be chosen through self-service"})
	}
	if err := st.Creating(); err != nil {
		return nil, err
	}
	c, secret, err := s.clients.CreateOwned(ctx, req.Tenant, metadataFrom(req.Body), caller(ctx))
	if err != nil {
		return nil, err
	}
	out := clientOut(c)
	if secret != nil {
		out.ClientSecret = &secret.Value
	}
	return api.CreateDeveloperClient201JSONResponse{Body: out, Headers: api.CreateDeveloperClient201ResponseHeaders{ETag: precondition.ETag(c.Version)}}, nil
}

// GetDeveloperClient returns one of the caller's clients, never a secret.
func (s *Server) GetDeveloperClient(ctx context.Context, req api.GetDeveloperClientRequestObject) (api.GetDeveloperClientResponseObject, error) {
	c, err := s.clients.GetOwned(ctx, req.Tenant, req.ClientId, caller(ctx))
	if err != nil {
		return nil, err
	}
	return api.GetDeveloperClient200JSONResponse{Body: clientOut(c), Headers: api.GetDeveloperClient200ResponseHeaders{ETag: precondition.ETag(c.Version)}}, nil
}

// UpdateDeveloperClient replaces one of the caller's clients, version-checked.
func (s *Server) UpdateDeveloperClient(ctx context.Context, req api.UpdateDeveloperClientRequestObject) (api.UpdateDeveloperClientResponseObject, error) {
	pre, err := precondition.From(req.Body.Metadata, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	c, err := s.clients.UpdateOwned(ctx, req.Tenant, req.ClientId, metadataFrom(req.Body), stated(req.Body), pre, caller(ctx))
	if err != nil {
		return nil, err
	}
	return api.UpdateDeveloperClient200JSONResponse{Body: clientOut(c), Headers: api.UpdateDeveloperClient200ResponseHeaders{ETag: precondition.ETag(c.Version)}}, nil
}

// DeleteDeveloperClient removes one of the caller's clients.
func (s *Server) DeleteDeveloperClient(ctx context.Context, req api.DeleteDeveloperClientRequestObject) (api.DeleteDeveloperClientResponseObject, error) {
	if err := s.clients.DeleteOwned(ctx, req.Tenant, req.ClientId, caller(ctx)); err != nil {
		return nil, err
	}
	return api.DeleteDeveloperClient204Response{}, nil
}
