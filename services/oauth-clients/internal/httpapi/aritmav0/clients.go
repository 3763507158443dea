// Package aritmav0 serves Aritma's IAM API (0) for clients and secrets
// (openapi/dialects/aritma-v0-oauth-clients.yaml): it translates the seed's shapes to the
// client registry's use cases, the same ones the native handlers call, and back.
package aritmav0

import (
	"context"
	"fmt"
	"net/url"

	"github.com/iamplane/iam/pkg/pagination"

	"github.com/iamplane/iam/services/oauth-clients/api/aritmav0"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/httpapi"
)

// Base is the seed's base path, under which every operation is served.
const Base = "/core/iam"

// Server implements the dialect's generated strict server interface.
type Server struct{ clients *clients.Registry }

// NewServer serves the client registry in Aritma v0's dialect.
func NewServer(registry *clients.Registry) *Server { return &Server{clients: registry} }

var _ aritmav0.StrictServerInterface = (*Server)(nil)

// fields are the seed's names for the native fields a refusal may name.
var fields = map[string]string{
	"clientName": "name", "grantTypes": "allowedGrantTypes", "scopes": "allowedScopes",
	"responseTypes": "allowedGrantTypes",
}

// metadata writes a v0 client body onto a client's metadata; every other setting stays.
func metadata(m *clients.Metadata, in *aritmav0.ClientInput) {
	m.Name, m.Description = in.Name, in.Description
	m.GrantTypes, m.RedirectURIs, m.Scopes = in.AllowedGrantTypes, in.RedirectUris, in.AllowedScopes
	m.ResponseTypes = nil // follows the grant types (Client.Apply)
}

// links are the seed's paging links of a list at path.
func links(path string, p pagination.Page, total int, query url.Values) aritmav0.Links {
	at := func(n int) *string {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("page", fmt.Sprint(n))
		q.Set("pageSize", fmt.Sprint(p.Size))
		s := path + "?" + q.Encode()
		return &s
	}
	pages := max(1, (total+p.Size-1)/p.Size)
	l := aritmav0.Links{First: at(1), Last: at(pages)}
	if p.Number > 1 {
		l.Previous = at(min(p.Number-1, pages))
	}
	if p.Number < pages {
		l.Next = at(p.Number + 1)
	}
	return l
}

// V0ListClients pages through the tenant's clients.
func (s *Server) V0ListClients(ctx context.Context, req aritmav0.V0ListClientsRequestObject) (aritmav0.V0ListClientsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	search := httpapi.Deref(req.Params.SearchText)
	page, err := s.clients.List(ctx, httpapi.TokenTenant(ctx), clients.ListQuery{Search: search, Offset: p.Offset(), Limit: p.Size})
	if err != nil {
		return nil, err
	}
	out := aritmav0.V0ListClients200JSONResponse{Items: make([]aritmav0.ClientSummary, len(page.Clients)),
		Metadata: aritmav0.ListMetadata{Page: int32(p.Number), PageSize: int32(p.Size), TotalCount: int32(page.Total)}}
	for i, c := range page.Clients {
		out.Items[i] = aritmav0.ClientSummary{ClientId: c.ID, Name: c.Name, Description: c.Description}
	}
	query := url.Values{}
	if search != "" {
		query.Set("searchText", search)
	}
	out.Links = links(Base+"/clients", p, page.Total, query)
	return out, nil
}

// V0CreateClient registers a client; its secrets are added separately, as in the seed.
func (s *Server) V0CreateClient(ctx context.Context, req aritmav0.V0CreateClientRequestObject) (aritmav0.V0CreateClientResponseObject, error) {
	var m clients.Metadata
	metadata(&m, req.Body)
	c, _, err := s.clients.Create(ctx, httpapi.TokenTenant(ctx), m, httpapi.Actor(ctx))
	if err != nil {
		return nil, httpapi.RenameFields(err, fields)
	}
	location := Base + "/clients/" + url.PathEscape(c.ID)
	return aritmav0.V0CreateClient200Response{Headers: aritmav0.V0CreateClient200ResponseHeaders{Location: &location}}, nil
}

// V0GetClient returns one client.
func (s *Server) V0GetClient(ctx context.Context, req aritmav0.V0GetClientRequestObject) (aritmav0.V0GetClientResponseObject, error) {
	c, err := s.clients.Get(ctx, httpapi.TokenTenant(ctx), req.ClientId)
	if err != nil {
		return nil, err
	}
	return aritmav0.V0GetClient200JSONResponse{ClientId: c.ID, Name: c.Name, Description: c.Description,
		AllowedGrantTypes: c.GrantTypes, RedirectUris: c.RedirectURIs, AllowedScopes: c.Scopes}, nil
}

// V0UpdateClient replaces the client's v0 fields.
func (s *Server) V0UpdateClient(ctx context.Context, req aritmav0.V0UpdateClientRequestObject) (aritmav0.V0UpdateClientResponseObject, error) {
	_, err := s.clients.Revise(ctx, httpapi.TokenTenant(ctx), req.ClientId, func(_ *clients.Client, m *clients.Metadata) error {
		metadata(m, req.Body)
		return nil
	}, httpapi.Actor(ctx))
	if err != nil {
		return nil, httpapi.RenameFields(err, fields)
	}
	return aritmav0.V0UpdateClient200Response{}, nil
}

// V0DeleteClient removes a client.
func (s *Server) V0DeleteClient(ctx context.Context, req aritmav0.V0DeleteClientRequestObject) (aritmav0.V0DeleteClientResponseObject, error) {
	if err := s.clients.Delete(ctx, httpapi.TokenTenant(ctx), req.ClientId); err != nil {
		return nil, err
	}
	return aritmav0.V0DeleteClient200Response{}, nil
}

// V0ListClientSecrets pages through a client's secrets, without their values.
func (s *Server) V0ListClientSecrets(ctx context.Context, req aritmav0.V0ListClientSecretsRequestObject) (aritmav0.V0ListClientSecretsResponseObject, error) {
	secrets, err := s.clients.Secrets(ctx, httpapi.TokenTenant(ctx), req.ClientId)
	if err != nil {
		return nil, err
	}
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	from := min(p.Offset(), len(secrets))
	to := min(from+p.Size, len(secrets))
	out := aritmav0.V0ListClientSecrets200JSONResponse{Items: make([]aritmav0.Secret, 0, to-from),
		Metadata: aritmav0.ListMetadata{Page: int32(p.Number), PageSize: int32(p.Size), TotalCount: int32(len(secrets))},
		Links:    links(Base+"/clients/"+url.PathEscape(req.ClientId)+"/secrets", p, len(secrets), nil)}
	for _, sec := range secrets[from:to] {
		out.Items = append(out.Items, aritmav0.Secret{Id: sec.Number(), Type: "SharedSecret", Description: sec.Description,
			Expiration: sec.ExpiresAt, Created: sec.CreatedAt})
	}
	return out, nil
}

// V0CreateClientSecret adds the caller's secret to a client.
func (s *Server) V0CreateClientSecret(ctx context.Context, req aritmav0.V0CreateClientSecretRequestObject) (aritmav0.V0CreateClientSecretResponseObject, error) {
	if _, err := s.clients.AddSecret(ctx, httpapi.TokenTenant(ctx), req.ClientId, req.Body.Value, req.Body.Description, nil); err != nil {
		return nil, err
	}
	return aritmav0.V0CreateClientSecret200Response{}, nil
}

// V0DeleteClientSecret revokes a secret by its number.
func (s *Server) V0DeleteClientSecret(ctx context.Context, req aritmav0.V0DeleteClientSecretRequestObject) (aritmav0.V0DeleteClientSecretResponseObject, error) {
	if err := s.clients.DeleteSecretNumbered(ctx, httpapi.TokenTenant(ctx), req.ClientId, req.ClientSecretId); err != nil {
		return nil, err
	}
	return aritmav0.V0DeleteClientSecret200Response{}, nil
}
