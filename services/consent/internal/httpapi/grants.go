package httpapi

import (
	"context"

	"github.com/iamplane/iam/services/consent/api"
	"github.com/iamplane/iam/services/consent/internal/consents"
)

func grantsOut(subject string, gs []consents.GrantStatus) api.GrantStatusList {
	out := api.GrantStatusList{Subject: subject, Grants: make([]api.GrantStatus, len(gs))}
	for i, g := range gs {
		out.Grants[i] = api.GrantStatus{ConsentId: g.ConsentID, Name: g.Name, Granted: g.Granted, GrantedVersion: g.GrantedVersion,
			CurrentVersion: g.CurrentVersion, NeedsReconsent: g.NeedsReconsent}
		if g.Type != "" {
			t := api.GrantStatusGrantType(g.Type)
			out.Grants[i].GrantType = &t
		}
	}
	return out
}

// GetConsentGrants tells where a subject stands on every consent.
func (s *Server) GetConsentGrants(ctx context.Context, req api.GetConsentGrantsRequestObject) (api.GetConsentGrantsResponseObject, error) {
	gs, err := s.book.Grants(ctx, req.Tenant, req.SubjectId)
	if err != nil {
		return nil, err
	}
	return api.GetConsentGrants200JSONResponse(grantsOut(req.SubjectId, gs)), nil
}

// ChangeConsentGrants grants or withdraws consents for a subject.
func (s *Server) ChangeConsentGrants(ctx context.Context, req api.ChangeConsentGrantsRequestObject) (api.ChangeConsentGrantsResponseObject, error) {
	reqs := make([]consents.GrantRequest, len(req.Body.Grants))
	for i, g := range req.Body.Grants {
		reqs[i] = consents.GrantRequest{ConsentID: g.ConsentId, Granted: g.Granted, Type: consents.GrantType(deref(g.GrantType))}
	}
	gc := consents.GrantContext{Language: deref(req.Body.Language), ActionID: deref(req.Body.ActionId)}
	if c := req.Body.Context; c != nil {
		gc.IP, gc.Device, gc.Location = deref(c.Ip), deref(c.Device), deref(c.Location)
	}
	gs, err := s.book.ChangeGrants(ctx, req.Tenant, req.SubjectId, reqs, gc)
	if err != nil {
		return nil, err
	}
	return api.ChangeConsentGrants200JSONResponse(grantsOut(req.SubjectId, gs)), nil
}
