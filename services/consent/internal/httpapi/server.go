// Package httpapi translates HTTP to consent's use cases and back; nothing more.
package httpapi

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

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
	out := api.ConsentAction{Id: a.ID, Name: a.Name, Description: &a.Description, Consents: make([]api.ActionConsent, len(a.Consents)),
		Metadata: apicommon.Metadata{Version: a.Version, CreatedAt: &created, ModifiedAt: &modified}}
	for i, c := range a.Consents {
		required := c.Required
		out.Consents[i] = api.ActionConsent{ConsentId: uuid.MustParse(c.ConsentID), Required: &required}
	}
	return out
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
	var asked []consents.ActionConsent
	for _, c := range deref(req.Body.Consents) {
		asked = append(asked, consents.ActionConsent{ConsentID: c.ConsentId.String(), Required: deref(c.Required)})
	}
	a := consents.New(req.Tenant, req.Body.Name, description, asked, time.Now().UTC())
	if err := s.Actions.Add(ctx, a); err != nil {
		return nil, err
	}
	return api.CreateConsentAction201JSONResponse(actionOut(a)), nil
}

// GetConsentActionStatus tells a consent screen what the subject still has to accept.
func (s *Server) GetConsentActionStatus(ctx context.Context, req api.GetConsentActionStatusRequestObject) (api.GetConsentActionStatusResponseObject, error) {
	st, err := s.Actions.Status(ctx, req.Tenant, req.ActionId, req.Params.Subject)
	if err != nil {
		return nil, err
	}
	out := api.GetConsentActionStatus200JSONResponse{ActionId: st.ActionID, Subject: req.Params.Subject, Complete: st.Complete}
	out.Consents = make([]struct {
		Accepted       bool   `json:"accepted"`
		ConsentId      string `json:"consentId"`
		CurrentVersion int64  `json:"currentVersion"`
		Name           string `json:"name"`
		Required       bool   `json:"required"`
	}, len(st.Consents))
	for i, c := range st.Consents {
		o := &out.Consents[i]
		o.Accepted, o.ConsentId, o.CurrentVersion, o.Name, o.Required = c.Accepted, c.ConsentID, c.CurrentVersion, c.Name, c.Required
	}
	return out, nil
}
