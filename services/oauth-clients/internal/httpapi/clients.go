package httpapi

import (
	"context"
	"encoding/json"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/oauth-clients/api"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
)

func metadataFrom(in *api.ClientInput) clients.Metadata {
	var privacy map[string]clients.PrivacyPurpose
	if in.Privacy != nil && in.Privacy.Scopes != nil {
		privacy = make(map[string]clients.PrivacyPurpose, len(*in.Privacy.Scopes))
		for scope, p := range *in.Privacy.Scopes {
			pp := clients.PrivacyPurpose{Purpose: p.Purpose}
			for _, c := range deref(p.PiiCategories) {
				pp.PIICategories = append(pp.PIICategories, c.Name)
			}
			privacy[scope] = pp
		}
	}
	return clients.Metadata{
		JWKS: jwksFrom(in.Jwks), JWKSURI: deref(in.JwksUri), Privacy: privacy,
		Name: in.ClientName, Description: deref(in.Description),
		GrantTypes: grantTypes(in.GrantTypes), ResponseTypes: responseTypes(in.ResponseTypes),
		RedirectURIs: deref(in.RedirectUris), Scopes: deref(in.Scopes),
		PostLogoutRedirectURIs: deref(in.PostLogoutRedirectUris), ConsentActionID: deref(in.ConsentActionId),
		TokenEndpointAuthMethod: string(deref(in.TokenEndpointAuthMethod)), Public: deref(in.Public),
		Audience: deref(in.Audience), ClientURI: deref(in.ClientUri), LogoURI: deref(in.LogoUri),
		PolicyURI: deref(in.PolicyUri), TosURI: deref(in.TosUri), Trusted: deref(in.Trusted),
	}
}

func grantTypes(in *[]api.ClientInputGrantTypes) []string {
	var out []string
	for _, g := range deref(in) {
		out = append(out, string(g))
	}
	return out
}

func responseTypes(in *[]api.ClientInputResponseTypes) []string {
	var out []string
	for _, r := range deref(in) {
		out = append(out, string(r))
	}
	return out
}

func clientOut(c *clients.Client) api.Client {
	created, updated := c.CreatedAt, c.UpdatedAt
	return api.Client{
		ClientId: c.ID, ClientName: c.Name, Description: &c.Description,
		GrantTypes: c.GrantTypes, ResponseTypes: c.ResponseTypes, RedirectUris: c.RedirectURIs, Scopes: c.Scopes,
		PostLogoutRedirectUris: &c.PostLogoutRedirectURIs, ConsentActionId: optional(c.ConsentActionID),
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, Public: c.Public, Audience: c.Audience,
		ClientUri: optional(c.ClientURI), LogoUri: optional(c.LogoURI), PolicyUri: optional(c.PolicyURI), TosUri: optional(c.TosURI),
		Jwks: jwksOut(c.JWKS), JwksUri: optional(c.JWKSURI), Privacy: privacyOut(c.Privacy),
		Trusted: c.Trusted, System: c.System, DeveloperId: optional(c.DeveloperID), CreatedBy: optional(c.CreatedBy), UpdatedBy: optional(c.UpdatedBy),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		Metadata: apicommon.Metadata{Version: c.Version, CreatedAt: &created, ModifiedAt: &updated},
	}
}

// jwksFrom keeps a JWK set as the JSON it came as; the domain parses and checks it.
func jwksFrom(in *api.ClientJWKSet) json.RawMessage {
	if in == nil {
		return nil
	}
	raw, _ := json.Marshal(in)
	return raw
}

func jwksOut(raw json.RawMessage) *api.ClientJWKSet {
	if len(raw) == 0 {
		return nil
	}
	var out api.ClientJWKSet
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	return &out
}

func privacyOut(p map[string]clients.PrivacyPurpose) *api.Privacy {
	if len(p) == 0 {
		return nil
	}
	scopes := make(map[string]api.PrivacyPurpose, len(p))
	for scope, pp := range p {
		out := api.PrivacyPurpose{Purpose: pp.Purpose}
		if len(pp.PIICategories) > 0 {
			cats := make([]struct {
				Name string `json:"name"`
			}, len(pp.PIICategories))
			for i, c := range pp.PIICategories {
				cats[i].Name = c
			}
			out.PiiCategories = &cats
		}
		scopes[scope] = out
	}
	return &api.Privacy{Scopes: &scopes}
}

// stated are the read-only fields of a client body (its GET answer sent back).
func stated(in *api.ClientInput) clients.Stated {
	s := clients.Stated{ID: in.ClientId, DeveloperID: in.DeveloperId, CreatedBy: in.CreatedBy, UpdatedBy: in.UpdatedBy,
		System: in.System, CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt}
	if in.Metadata != nil {
		s.MetadataCreatedAt, s.MetadataModifiedAt = in.Metadata.CreatedAt, in.Metadata.ModifiedAt
	}
	return s
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ListClients pages through the tenant's clients.
func (s *Server) ListClients(ctx context.Context, req api.ListClientsRequestObject) (api.ListClientsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	page, err := s.clients.List(ctx, req.Tenant, clients.ListQuery{Search: search(req.Params.SearchQuery, req.Params.SearchText),
		Developer: deref(req.Params.DeveloperId), Offset: p.Offset(), Limit: p.Size})
	if err != nil {
		return nil, err
	}
	return api.ListClients200JSONResponse(clientPage(p, page)), nil
}

// CreateClient registers a client, with the caller's id if it chose one, and shows its
// first secret once.
func (s *Server) CreateClient(ctx context.Context, req api.CreateClientRequestObject) (api.CreateClientResponseObject, error) {
	st := stated(req.Body)
	if err := st.Creating(); err != nil {
		return nil, err
	}
	c, secret, err := s.clients.Import(ctx, req.Tenant, clients.Chosen{ID: deref(st.ID)}, metadataFrom(req.Body), actor(ctx))
	if err != nil {
		return nil, err
	}
	out := clientOut(c)
	if secret != nil {
		out.ClientSecret = &secret.Value
	}
	return api.CreateClient201JSONResponse{Body: out, Headers: api.CreateClient201ResponseHeaders{ETag: precondition.ETag(c.Version)}}, nil
}

// GetClient returns one client.
func (s *Server) GetClient(ctx context.Context, req api.GetClientRequestObject) (api.GetClientResponseObject, error) {
	c, err := s.clients.Get(ctx, req.Tenant, req.ClientId)
	if err != nil {
		return nil, err
	}
	return api.GetClient200JSONResponse{Body: clientOut(c), Headers: api.GetClient200ResponseHeaders{ETag: precondition.ETag(c.Version)}}, nil
}

// UpdateClient replaces a client's metadata, version-checked.
func (s *Server) UpdateClient(ctx context.Context, req api.UpdateClientRequestObject) (api.UpdateClientResponseObject, error) {
	pre, err := precondition.From(req.Body.Metadata, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	c, err := s.clients.Update(ctx, req.Tenant, req.ClientId, metadataFrom(req.Body), stated(req.Body), pre, actor(ctx))
	if err != nil {
		return nil, err
	}
	return api.UpdateClient200JSONResponse{Body: clientOut(c), Headers: api.UpdateClient200ResponseHeaders{ETag: precondition.ETag(c.Version)}}, nil
}

// DeleteClient removes a client.
func (s *Server) DeleteClient(ctx context.Context, req api.DeleteClientRequestObject) (api.DeleteClientResponseObject, error) {
	if err := s.clients.Delete(ctx, req.Tenant, req.ClientId); err != nil {
		return nil, err
	}
	return api.DeleteClient204Response{}, nil
}
