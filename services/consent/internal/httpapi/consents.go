package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/consent/api"
	"github.com/iamplane/iam/services/consent/internal/consents"
)

// deref reads an optional field of a request: its zero value when absent.
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
	if in.Texts != nil {
		c.Texts = make(map[string]consents.ConsentText, len(*in.Texts))
		for lang, t := range *in.Texts {
			c.Texts[lang] = consents.ConsentText{Title: t.Title, Description: deref(t.Description)}
		}
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
	if len(c.Texts) > 0 {
		texts := make(api.ConsentTexts, len(c.Texts))
		for lang, t := range c.Texts {
			texts[lang] = api.ConsentText{Title: t.Title}
			if t.Description != "" {
				texts[lang] = api.ConsentText{Title: t.Title, Description: &t.Description}
			}
		}
		out.Texts = &texts
	}
	return out
}

// ListConsents pages through consents.
func (s *Server) ListConsents(ctx context.Context, req api.ListConsentsRequestObject) (api.ListConsentsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.book.ListConsents(ctx, req.Tenant, deref(req.Params.SearchQuery), p.Offset(), p.Size)
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
	if err := s.book.CreateConsent(ctx, &c); err != nil {
		return nil, err
	}
	return api.CreateConsent201JSONResponse(consentOut(&c)), nil
}

// GetConsent returns one consent.
func (s *Server) GetConsent(ctx context.Context, req api.GetConsentRequestObject) (api.GetConsentResponseObject, error) {
	c, err := s.book.GetConsent(ctx, req.Tenant, req.ConsentId.String())
	if err != nil {
		return nil, err
	}
	return api.GetConsent200JSONResponse(consentOut(c)), nil
}

// UpdateConsent makes a new version of a consent.
func (s *Server) UpdateConsent(ctx context.Context, req api.UpdateConsentRequestObject) (api.UpdateConsentResponseObject, error) {
	pre, err := precondition.From(req.Body.Metadata, nil)
	if err != nil {
		return nil, err
	}
	c, err := s.book.UpdateConsent(ctx, req.Tenant, req.ConsentId.String(), consentIn(req.Tenant, req.Body), pre,
		consents.Strategy(deref(req.Body.UpdateExistingGrants)))
	if err != nil {
		return nil, err
	}
	return api.UpdateConsent200JSONResponse(consentOut(c)), nil
}

// DeleteConsent removes a consent.
func (s *Server) DeleteConsent(ctx context.Context, req api.DeleteConsentRequestObject) (api.DeleteConsentResponseObject, error) {
	if err := s.book.DeleteConsent(ctx, req.Tenant, req.ConsentId.String()); err != nil {
		return nil, err
	}
	return api.DeleteConsent204Response{}, nil
}
