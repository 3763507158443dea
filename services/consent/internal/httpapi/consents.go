package httpapi

import (
	"context"
	"fmt"
	"time"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/consent/api"
	"github.com/iamplane/iam/services/consent/internal/consents"
)

// metadataIn reads the metadata of a change: the version it is based on, and the
// read-only times it claims (zero when absent).
func metadataIn(m *api.WritableMetadata) (meta *apicommon.Metadata, created, modified time.Time) {
	if m == nil {
		return nil, time.Time{}, time.Time{}
	}
	return &apicommon.Metadata{Version: m.Version}, deref(m.CreatedAt), deref(m.ModifiedAt)
}

// deref reads an optional field of a request: its zero value when absent.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func consentIn(tenant string, in *api.ConsentInput) (consents.Consent, error) {
	c := consents.Consent{Tenant: tenant, ID: deref(in.Id), Name: in.Name, Description: deref(in.Description), CanBeWithdrawn: true,
		PIICategories: deref(in.PiiCategories), ValidFrom: in.ValidFrom, Services: []consents.Service{}, Version: deref(in.Version),
		UpdateExistingGrants: consents.Strategy(deref(in.UpdateExistingGrants))}
	if in.CanBeWithdrawn != nil {
		c.CanBeWithdrawn = *in.CanBeWithdrawn
	}
	if c.PIICategories == nil {
		c.PIICategories = []string{}
	}
	var bad []errs.FieldError
	for i, s := range deref(in.Services) {
		svc := consents.Service{Name: s.Name, Type: string(s.Type), Purposes: []consents.Purpose{}}
		primary := map[string]bool{}
		for _, p := range deref(s.PrimaryPurposes) {
			primary[p] = true
		}
		for _, p := range deref(s.Purposes) {
			svc.Purposes = append(svc.Purposes, consents.Purpose{Name: p, Primary: primary[p]})
			delete(primary, p)
		}
		for p := range primary {
			bad = append(bad, errs.FieldError{Field: fmt.Sprintf("services[%d].primaryPurposes", i), Message: fmt.Sprintf("%q is not one of purposes", p)})
		}
		c.Services = append(c.Services, svc)
	}
	if len(bad) > 0 {
		return c, errs.Fields("a primary purpose must be one of the service's purposes", bad...)
	}
	if in.Texts != nil {
		c.Texts = make(map[string]consents.ConsentText, len(*in.Texts))
		for lang, t := range *in.Texts {
			c.Texts[lang] = consents.ConsentText{Title: t.Title, Description: deref(t.Description)}
		}
	}
	return c, nil
}

func consentOut(c *consents.Consent) api.Consent {
	created, modified := c.CreatedAt, c.ModifiedAt
	out := api.Consent{Id: c.ID, Name: c.Name, Description: &c.Description, CanBeWithdrawn: c.CanBeWithdrawn,
		PiiCategories: c.PIICategories, ValidFrom: c.ValidFrom, Services: make([]api.Service, len(c.Services)), Version: c.Version,
		Metadata: apicommon.Metadata{Version: c.Version, CreatedAt: &created, ModifiedAt: &modified}}
	for i, s := range c.Services {
		purposes, primary := make([]string, len(s.Purposes)), []string{}
		for j, p := range s.Purposes {
			purposes[j] = p.Name
			if p.Primary {
				primary = append(primary, p.Name)
			}
		}
		out.Services[i] = api.Service{Name: s.Name, Type: api.ServiceType(s.Type), Purposes: &purposes}
		if len(primary) > 0 {
			out.Services[i].PrimaryPurposes = &primary
		}
	}
	if c.UpdateExistingGrants != "" {
		strategy := api.UpdateStrategy(c.UpdateExistingGrants)
		out.UpdateExistingGrants = &strategy
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
	c, err := consentIn(req.Tenant, req.Body)
	if err != nil {
		return nil, err
	}
	if err := s.book.CreateConsent(ctx, &c); err != nil {
		return nil, err
	}
	return api.CreateConsent201JSONResponse(consentOut(&c)), nil
}

// GetConsent returns one consent.
func (s *Server) GetConsent(ctx context.Context, req api.GetConsentRequestObject) (api.GetConsentResponseObject, error) {
	c, err := s.book.GetConsent(ctx, req.Tenant, req.ConsentId)
	if err != nil {
		return nil, err
	}
	return api.GetConsent200JSONResponse(consentOut(c)), nil
}

// UpdateConsent makes a new version of a consent.
func (s *Server) UpdateConsent(ctx context.Context, req api.UpdateConsentRequestObject) (api.UpdateConsentResponseObject, error) {
	meta, created, modified := metadataIn(req.Body.Metadata)
	pre, err := precondition.From(meta, nil)
	if err != nil {
		return nil, err
	}
	in, err := consentIn(req.Tenant, req.Body)
	if err != nil {
		return nil, err
	}
	in.CreatedAt, in.ModifiedAt = created, modified
	c, err := s.book.UpdateConsent(ctx, req.Tenant, req.ConsentId, in, pre, in.UpdateExistingGrants)
	if err != nil {
		return nil, err
	}
	return api.UpdateConsent200JSONResponse(consentOut(c)), nil
}

// DeleteConsent removes a consent.
func (s *Server) DeleteConsent(ctx context.Context, req api.DeleteConsentRequestObject) (api.DeleteConsentResponseObject, error) {
	if err := s.book.DeleteConsent(ctx, req.Tenant, req.ConsentId); err != nil {
		return nil, err
	}
	return api.DeleteConsent204Response{}, nil
}
