package httpapi

import (
	"context"

	"github.com/google/uuid"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/version"

	"github.com/iamplane/iam/services/consent/api"
	"github.com/iamplane/iam/services/consent/internal/consents"
)

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func consentIn(tenant string, in *api.ConsentInput) consents.Consent {
	c := consents.Consent{Tenant: tenant, Name: in.Name, Description: deref(in.Description), CanBeWithdrawn: true,
		PIICategories: deref(in.PiiCategories), ValidFrom: in.ValidFrom, Services: []consents.Service{}}
	if in.CanBeWithdrawn != nil {
		c.CanBeWithdrawn = *in.CanBeWithdrawn
	}
	if c.PIICategories == nil {
		c.PIICategories = []string{}
	}
	for _, s := range deref(in.Services) {
		c.Services = append(c.Services, consents.Service{Name: s.Name, Type: string(s.Type), Purposes: deref(s.Purposes)})
	}
	return c
}

func consentOut(c *consents.Consent) api.Consent {
	created, modified := c.CreatedAt, c.ModifiedAt
	out := api.Consent{Id: c.ID, Name: c.Name, Description: &c.Description, CanBeWithdrawn: c.CanBeWithdrawn,
		PiiCategories: c.PIICategories, ValidFrom: c.ValidFrom, Services: make([]api.Service, len(c.Services)), Version: c.Version,
		Metadata: apicommon.Metadata{Version: c.Version, CreatedAt: &created, ModifiedAt: &modified}}
	for i, s := range c.Services {
		purposes := s.Purposes
		out.Services[i] = api.Service{Name: s.Name, Type: api.ServiceType(s.Type), Purposes: &purposes}
	}
	return out
}

// ListConsents pages through consents.
func (s *Server) ListConsents(ctx context.Context, req api.ListConsentsRequestObject) (api.ListConsentsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.Book.Store.ListConsents(ctx, req.Tenant, deref(req.Params.SearchQuery), p.Offset(), p.Size)
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(found), total)
	out := api.ListConsents200JSONResponse{Data: make([]api.Consent, len(found)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range found {
		out.Data[i] = consentOut(&found[i])
	}
	return out, nil
}

// CreateConsent adds a consent at version 1.
func (s *Server) CreateConsent(ctx context.Context, req api.CreateConsentRequestObject) (api.CreateConsentResponseObject, error) {
	c := consentIn(req.Tenant, req.Body)
	c.ID = uuid.NewString()
	if err := s.Book.Create(ctx, &c); err != nil {
		return nil, err
	}
	return api.CreateConsent201JSONResponse(consentOut(&c)), nil
}

// GetConsent returns one consent.
func (s *Server) GetConsent(ctx context.Context, req api.GetConsentRequestObject) (api.GetConsentResponseObject, error) {
	c, err := s.Book.Store.GetConsent(ctx, req.Tenant, req.ConsentId.String())
	if err != nil {
		return nil, err
	}
	return api.GetConsent200JSONResponse(consentOut(c)), nil
}

// UpdateConsent makes a new version of a consent.
func (s *Server) UpdateConsent(ctx context.Context, req api.UpdateConsentRequestObject) (api.UpdateConsentResponseObject, error) {
	var pre version.Precondition
	if req.Body.Metadata != nil {
		pre.Body = &req.Body.Metadata.Version
	}
	c, err := s.Book.Update(ctx, req.Tenant, req.ConsentId.String(), consentIn(req.Tenant, req.Body), pre,
		consents.Strategy(deref(req.Body.UpdateExistingGrants)))
	if err != nil {
		return nil, err
	}
	return api.UpdateConsent200JSONResponse(consentOut(c)), nil
}

// DeleteConsent removes a consent.
func (s *Server) DeleteConsent(ctx context.Context, req api.DeleteConsentRequestObject) (api.DeleteConsentResponseObject, error) {
	if err := s.Book.Store.DeleteConsent(ctx, req.Tenant, req.ConsentId.String()); err != nil {
		return nil, err
	}
	return api.DeleteConsent204Response{}, nil
}

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
	gs, err := s.Book.Store.Grants(ctx, req.Tenant, req.SubjectId)
	if err != nil {
		return nil, err
	}
	return api.GetConsentGrants200JSONResponse(grantsOut(req.SubjectId, gs)), nil
}

// ChangeConsentGrants grants or withdraws consents for a subject.
func (s *Server) ChangeConsentGrants(ctx context.Context, req api.ChangeConsentGrantsRequestObject) (api.ChangeConsentGrantsResponseObject, error) {
	reqs := make([]consents.GrantRequest, len(req.Body.Grants))
	for i, g := range req.Body.Grants {
		reqs[i] = consents.GrantRequest{ConsentID: g.ConsentId.String(), Granted: g.Granted, Type: consents.GrantType(deref(g.GrantType))}
	}
	gc := consents.GrantContext{Language: deref(req.Body.Language), ActionID: deref(req.Body.ActionId)}
	if c := req.Body.Context; c != nil {
		gc.IP, gc.Device, gc.Location = deref(c.Ip), deref(c.Device), deref(c.Location)
	}
	if err := s.Book.ChangeGrants(ctx, req.Tenant, req.SubjectId, reqs, gc); err != nil {
		return nil, err
	}
	gs, err := s.Book.Store.Grants(ctx, req.Tenant, req.SubjectId)
	if err != nil {
		return nil, err
	}
	return api.ChangeConsentGrants200JSONResponse(grantsOut(req.SubjectId, gs)), nil
}

// ListLedgerEvents lists the privacy ledger.
func (s *Server) ListLedgerEvents(ctx context.Context, req api.ListLedgerEventsRequestObject) (api.ListLedgerEventsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	evs, total, err := s.Book.Store.Ledger(ctx, req.Tenant, consents.LedgerQuery{Subject: deref(req.Params.Subject),
		From: req.Params.From, To: req.Params.To, Offset: p.Offset(), Limit: p.Size})
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(evs), total)
	out := api.ListLedgerEvents200JSONResponse{Data: make([]api.LedgerEvent, len(evs)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i, ev := range evs {
		e := api.LedgerEvent{Seq: ev.Seq, Type: api.LedgerEventType(ev.Type), Subject: ev.Subject, OccurredAt: ev.OccurredAt, Hash: ev.Hash}
		if ev.ConsentID != "" {
			e.ConsentId, e.ConsentVersion = &evs[i].ConsentID, &evs[i].ConsentVersion
		}
		if ev.GrantType != "" {
			e.GrantType = &evs[i].GrantType
		}
		if ev.Context != nil {
			e.Context = &evs[i].Context
		}
		if ev.Language != "" {
			e.Language = &evs[i].Language
		}
		if ev.ActionID != "" {
			e.ActionId = &evs[i].ActionID
		}
		out.Data[i] = e
	}
	return out, nil
}

// VerifyLedger recomputes the hash chain.
func (s *Server) VerifyLedger(ctx context.Context, req api.VerifyLedgerRequestObject) (api.VerifyLedgerResponseObject, error) {
	v, err := s.Book.Store.Verify(ctx, req.Tenant)
	if err != nil {
		return nil, err
	}
	return api.VerifyLedger200JSONResponse{Valid: v.Valid, Checked: v.Checked, FirstBrokenSeq: v.FirstBrokenSeq}, nil
}
