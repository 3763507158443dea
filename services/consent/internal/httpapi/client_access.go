package httpapi

import (
	"context"
	"encoding/json"
	"time"

	"github.com/iamplane/iam/services/consent/api"
	"github.com/iamplane/iam/services/consent/internal/consents"
)

// clientAccessList renders the domain list in the generated (anonymous-struct) shape by
// way of its JSON, which is the contract anyway.
func clientAccessList(subject string, cs []consents.ClientAccess) (api.ClientAccessList, error) {
	type scope struct {
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
	}
	type client struct {
		ClientID   string    `json:"clientId"`
		ClientName string    `json:"clientName"`
		LogoURI    string    `json:"logoUri,omitempty"`
		Scopes     []scope   `json:"scopes"`
		GrantedAt  time.Time `json:"grantedAt"`
	}
	list := struct {
		Subject string   `json:"subject"`
		Clients []client `json:"clients"`
	}{Subject: subject, Clients: []client{}}
	for _, c := range cs {
		out := client{ClientID: c.ClientID, ClientName: c.ClientName, LogoURI: c.LogoURI, GrantedAt: c.GrantedAt, Scopes: []scope{}}
		for _, s := range c.Scopes {
			out.Scopes = append(out.Scopes, scope{Name: s.Name, DisplayName: s.DisplayName})
		}
		list.Clients = append(list.Clients, out)
	}
	raw, err := json.Marshal(list)
	if err != nil {
		return api.ClientAccessList{}, err
	}
	var res api.ClientAccessList
	return res, json.Unmarshal(raw, &res)
}

// ListClientAccess lists the clients a subject let in.
func (s *Server) ListClientAccess(ctx context.Context, req api.ListClientAccessRequestObject) (api.ListClientAccessResponseObject, error) {
	cs, err := s.book.ClientAccess(ctx, req.Tenant, req.SubjectId)
	if err != nil {
		return nil, err
	}
	out, err := clientAccessList(req.SubjectId, cs)
	return api.ListClientAccess200JSONResponse(out), err
}

// GrantClientAccess records that a subject let a client in.
func (s *Server) GrantClientAccess(ctx context.Context, req api.GrantClientAccessRequestObject) (api.GrantClientAccessResponseObject, error) {
	cs, err := s.book.GrantClientAccess(ctx, req.Tenant, req.SubjectId, req.Body.ClientId, req.Body.Scopes)
	if err != nil {
		return nil, err
	}
	out, err := clientAccessList(req.SubjectId, cs)
	return api.GrantClientAccess200JSONResponse(out), err
}

// RevokeClientAccess removes a client's access for a subject.
func (s *Server) RevokeClientAccess(ctx context.Context, req api.RevokeClientAccessRequestObject) (api.RevokeClientAccessResponseObject, error) {
	if err := s.book.RevokeClientAccess(ctx, req.Tenant, req.SubjectId, req.ClientId); err != nil {
		return nil, err
	}
	return api.RevokeClientAccess204Response{}, nil
}
