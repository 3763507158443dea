// Package identityservice serves the Identity Service's JSON:API for clients
// (openapi/dialects/identityservice-oauth-clients.yaml): it translates the seed's shapes to
// the client registry's use cases, the same ones the native handlers call, and back.
package identityservice

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/iamplane/iam/services/oauth-clients/api/identityservice"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
	"github.com/iamplane/iam/services/oauth-clients/internal/httpapi"
)

// Server implements the dialect's generated strict server interface.
type Server struct{ clients *clients.Registry }

// NewServer serves the client registry in the Identity Service's dialect.
func NewServer(registry *clients.Registry) *Server { return &Server{clients: registry} }

var _ identityservice.StrictServerInterface = (*Server)(nil)

// fields are the seed's names for the native fields a refusal may name.
var fields = map[string]string{
	"clientName":              "data.attributes.label",
	"redirectUris":            "data.attributes.redirect_url",
	"tokenEndpointAuthMethod": "data.attributes.confidential",
	"grantTypes":              "data.attributes.confidential",
	"responseTypes":           "data.attributes.redirect_url",
}

// attributes writes the seed's attributes onto a client's metadata: label is the name,
// confidential whether the client has a secret, redirect_url its one redirect URI. The
// grant types follow: a confidential client uses client_credentials, a client with a
// redirect URL (and every public one) the authorization code grant. Attributes left out
// (nil) keep what the client has.
func attributes(m *clients.Metadata, label *string, confidential *bool, redirect *string) {
	if label != nil {
		m.Name = *label
	}
	if confidential != nil && *confidential == m.Public {
		m.Public = !*confidential
		m.TokenEndpointAuthMethod = "" // the default of the new kind (client_secret_basic or none)
		if m.Public {
			m.GrantTypes = without(m.GrantTypes, "client_credentials")
		} else if !slices.Contains(m.GrantTypes, "client_credentials") {
			m.GrantTypes = append(slices.Clone(m.GrantTypes), "client_credentials")
		}
	}
	if redirect != nil {
		m.RedirectURIs = nil
		if *redirect != "" {
			m.RedirectURIs = []string{*redirect}
		}
	}
	code := len(m.RedirectURIs) > 0 || m.Public // a public client has nothing else: it needs a redirect URL
	switch {
	case code && !slices.Contains(m.GrantTypes, "authorization_code"):
		m.GrantTypes = append(slices.Clone(m.GrantTypes), "authorization_code")
	case !code:
		m.GrantTypes = without(without(m.GrantTypes, "authorization_code"), "refresh_token")
		m.ResponseTypes = without(m.ResponseTypes, "code")
	}
	if !m.Public && len(m.GrantTypes) == 0 {
		m.GrantTypes = []string{"client_credentials"}
	}
}

func without(xs []string, x string) []string {
	return slices.DeleteFunc(slices.Clone(xs), func(y string) bool { return y == x })
}

// reference is a createdBy/updatedBy relationship: the subject without its kind prefix,
// typed as the seed types them (users; clients for a client).
func reference(subject string) identityservice.Reference {
	var r identityservice.Reference
	r.Data.Type = "users"
	r.Data.Id = strings.TrimPrefix(subject, "user-")
	if id, ok := strings.CutPrefix(subject, "client-"); ok {
		r.Data.Type, r.Data.Id = "clients", id
	}
	return r
}

func clientOut(c *clients.Client, secret *clients.Secret) identityservice.Client {
	var out identityservice.Client
	out.Type, out.Id = "clients", c.ID
	out.Attributes.Label, out.Attributes.Confidential = c.Name, !c.Public
	if len(c.RedirectURIs) > 0 {
		out.Attributes.RedirectUrl = c.RedirectURIs[0]
	}
	out.Attributes.Created, out.Attributes.Updated = c.CreatedAt, c.UpdatedAt
	if secret != nil {
		out.Attributes.Secret = &secret.Value
	}
	out.Relationships.CreatedBy, out.Relationships.UpdatedBy = reference(c.CreatedBy), reference(c.UpdatedBy)
	out.Relationships.Groups.Data = []struct {
		Id   string `json:"id"`
		Type string `json:"type"`
	}{}
	return out
}

// IsListClients pages through the tenant's clients by offset and limit.
func (s *Server) IsListClients(ctx context.Context, req identityservice.IsListClientsRequestObject) (identityservice.IsListClientsResponseObject, error) {
	offset, limit := httpapi.Deref(req.Params.PageOffset), 20
	if req.Params.PageLimit != nil {
		limit = *req.Params.PageLimit
	}
	page, err := s.clients.List(ctx, httpapi.TokenTenant(ctx), clients.ListQuery{Offset: offset, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := identityservice.IsListClients200ApplicationVndAPIPlusJSONResponse{Data: make([]identityservice.Client, len(page.Clients))}
	for i := range page.Clients {
		out.Data[i] = clientOut(&page.Clients[i], nil)
	}
	out.Meta.Count, out.Meta.Found = len(page.Clients), page.Total
	link := func(offset int) string {
		return fmt.Sprintf("/clients?page%%5Blimit%%5D=%d&page%%5Boffset%%5D=%d", limit, offset)
	}
	last := 0
	if limit > 0 && page.Total > 0 {
		last = (page.Total - 1) / limit * limit
	}
	out.Links.First, out.Links.Last, out.Links.Self = link(0), link(last), link(offset)
	if limit > 0 && offset+limit < page.Total {
		next := link(offset + limit)
		out.Links.Next = &next
	}
	if offset > 0 {
		prev := link(max(0, offset-limit))
		out.Links.Prev = &prev
	}
	return out, nil
}

// IsCreateClient registers a client; a confidential one's secret is shown once.
func (s *Server) IsCreateClient(ctx context.Context, req identityservice.IsCreateClientRequestObject) (identityservice.IsCreateClientResponseObject, error) {
	a := req.Body.Data.Attributes
	confidential := true
	if a.Confidential != nil {
		confidential = *a.Confidential
	}
	var m clients.Metadata
	m.Public = true // so that attributes applies confidential's grant types either way
	attributes(&m, &a.Label, &confidential, a.RedirectUrl)
	c, secret, err := s.clients.Create(ctx, httpapi.TokenTenant(ctx), m, httpapi.Actor(ctx))
	if err != nil {
		return nil, httpapi.RenameFields(err, fields)
	}
	return identityservice.IsCreateClient201ApplicationVndAPIPlusJSONResponse{Data: clientOut(c, secret)}, nil
}

// IsUpdateClient changes the attributes given of the client data.id names.
func (s *Server) IsUpdateClient(ctx context.Context, req identityservice.IsUpdateClientRequestObject) (identityservice.IsUpdateClientResponseObject, error) {
	a := req.Body.Data.Attributes
	c, err := s.clients.Revise(ctx, httpapi.TokenTenant(ctx), req.Body.Data.Id, func(_ *clients.Client, m *clients.Metadata) error {
		attributes(m, a.Label, a.Confidential, a.RedirectUrl)
		return nil
	}, httpapi.Actor(ctx))
	if err != nil {
		return nil, httpapi.RenameFields(err, fields)
	}
	return identityservice.IsUpdateClient200ApplicationVndAPIPlusJSONResponse{Data: clientOut(c, nil)}, nil
}

// IsGetClient returns one client.
func (s *Server) IsGetClient(ctx context.Context, req identityservice.IsGetClientRequestObject) (identityservice.IsGetClientResponseObject, error) {
	c, err := s.clients.Get(ctx, httpapi.TokenTenant(ctx), req.Id)
	if err != nil {
		return nil, err
	}
	return identityservice.IsGetClient200ApplicationVndAPIPlusJSONResponse{Data: clientOut(c, nil)}, nil
}

// IsDeleteClient removes a client.
func (s *Server) IsDeleteClient(ctx context.Context, req identityservice.IsDeleteClientRequestObject) (identityservice.IsDeleteClientResponseObject, error) {
	if err := s.clients.Delete(ctx, httpapi.TokenTenant(ctx), req.Id); err != nil {
		return nil, err
	}
	return identityservice.IsDeleteClient204Response{}, nil
}
