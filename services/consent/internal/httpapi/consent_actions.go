package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/consent/api"
	"github.com/iamplane/iam/services/consent/internal/consents"
)

func actionOut(a *consents.Action) api.ConsentAction {
	created, modified := a.CreatedAt, a.ModifiedAt
	out := api.ConsentAction{Id: a.ID, Name: a.Name, Description: &a.Description, Consents: make([]api.ActionConsent, len(a.Consents)),
		Metadata: apicommon.Metadata{Version: a.Version, CreatedAt: &created, ModifiedAt: &modified}}
	for i, c := range a.Consents {
		required := c.Required
		out.Consents[i] = api.ActionConsent{ConsentId: c.ConsentID, Required: &required}
	}
	return out
}

// ListConsentActions pages through the tenant's consent actions.
func (s *Server) ListConsentActions(ctx context.Context, req api.ListConsentActionsRequestObject) (api.ListConsentActionsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.actions.List(ctx, req.Tenant, deref(req.Params.SearchQuery), p.Offset(), p.Size)
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

func askedIn(in *api.ConsentActionInput) []consents.ActionConsent {
	var asked []consents.ActionConsent
	for _, c := range deref(in.Consents) {
		asked = append(asked, consents.ActionConsent{ConsentID: c.ConsentId, Required: deref(c.Required)})
	}
	return asked
}

// CreateConsentAction adds a consent action with a server-generated id.
func (s *Server) CreateConsentAction(ctx context.Context, req api.CreateConsentActionRequestObject) (api.CreateConsentActionResponseObject, error) {
	a, err := s.actions.Add(ctx, req.Tenant, deref(req.Body.Id), req.Body.Name, deref(req.Body.Description), askedIn(req.Body))
	if err != nil {
		return nil, err
	}
	return api.CreateConsentAction201JSONResponse(actionOut(a)), nil
}

// GetConsentAction returns one consent action, by id or name.
func (s *Server) GetConsentAction(ctx context.Context, req api.GetConsentActionRequestObject) (api.GetConsentActionResponseObject, error) {
	a, err := s.actions.Get(ctx, req.Tenant, req.ActionId)
	if err != nil {
		return nil, err
	}
	return api.GetConsentAction200JSONResponse{Body: actionOut(a), Headers: api.GetConsentAction200ResponseHeaders{ETag: precondition.ETag(a.Version)}}, nil
}

// UpdateConsentAction replaces a consent action, based on the version the caller names.
func (s *Server) UpdateConsentAction(ctx context.Context, req api.UpdateConsentActionRequestObject) (api.UpdateConsentActionResponseObject, error) {
	meta, created, modified := metadataIn(req.Body.Metadata)
	pre, err := precondition.From(meta, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	a, err := s.actions.Update(ctx, req.Tenant, req.ActionId, consents.ActionChange{ID: deref(req.Body.Id), Name: req.Body.Name,
		Description: deref(req.Body.Description), Consents: askedIn(req.Body), CreatedAt: created, ModifiedAt: modified}, pre)
	if err != nil {
		return nil, err
	}
	return api.UpdateConsentAction200JSONResponse{Body: actionOut(a), Headers: api.UpdateConsentAction200ResponseHeaders{ETag: precondition.ETag(a.Version)}}, nil
}

// DeleteConsentAction removes a consent action; its consents and their grants stay.
func (s *Server) DeleteConsentAction(ctx context.Context, req api.DeleteConsentActionRequestObject) (api.DeleteConsentActionResponseObject, error) {
	if err := s.actions.Delete(ctx, req.Tenant, req.ActionId); err != nil {
		return nil, err
	}
	return api.DeleteConsentAction204Response{}, nil
}

// GetConsentActionStatus tells a consent screen what the subject still has to accept.
func (s *Server) GetConsentActionStatus(ctx context.Context, req api.GetConsentActionStatusRequestObject) (api.GetConsentActionStatusResponseObject, error) {
	st, err := s.actions.Status(ctx, req.Tenant, req.ActionId, req.Params.Subject)
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
