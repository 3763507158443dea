package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

func templateOut(t *rbac.Template, lang string) api.Template {
	out := api.Template{Id: t.ID, Name: text(t.Name, lang), Description: optionalText(t.Description, lang),
		AccessControls: t.AccessControls, Metadata: metadataOut(&t.Entry)}
	if t.Details != nil {
		details := make([]api.AccessControl, len(t.Details))
		for i := range t.Details {
			details[i] = accessControlOut(&t.Details[i], lang)
		}
		out.AccessControlDetails = &details
	}
	return out
}

func templateFields(in *api.TemplateInput) rbac.TemplateFields {
	return rbac.TemplateFields{Name: in.Name, Description: description(in.Description), AccessControls: in.AccessControls, Echo: echoOf(in.Id, in.Metadata)}
}

// ListTemplates pages through templates.
func (s *Server) ListTemplates(ctx context.Context, req api.ListTemplatesRequestObject) (api.ListTemplatesResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	q, err := rbacQuery(p, req.Params.Name, req.Params.Description, req.Params.MetadataModifiedAt)
	if err != nil {
		return nil, err
	}
	found, total, err := s.rbac.ListTemplates(ctx, req.Tenant, q, expansion(req.Params.Expand))
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(found), total)
	out := api.ListTemplates200JSONResponse{Data: make([]api.Template, len(found)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range found {
		out.Data[i] = templateOut(&found[i], deref(req.Params.AcceptLanguage))
	}
	return out, nil
}

// CreateTemplate adds a template.
func (s *Server) CreateTemplate(ctx context.Context, req api.CreateTemplateRequestObject) (api.CreateTemplateResponseObject, error) {
	t, err := s.rbac.CreateTemplate(ctx, req.Tenant, templateFields(req.Body))
	if err != nil {
		return nil, err
	}
	return api.CreateTemplate201JSONResponse{Body: templateOut(t, ""), Headers: api.CreateTemplate201ResponseHeaders{ETag: precondition.ETag(t.Version)}}, nil
}

// GetTemplate reads a template.
func (s *Server) GetTemplate(ctx context.Context, req api.GetTemplateRequestObject) (api.GetTemplateResponseObject, error) {
	t, err := s.rbac.GetTemplate(ctx, req.Tenant, req.TemplateId, expansion(req.Params.Expand))
	if err != nil {
		return nil, err
	}
	return api.GetTemplate200JSONResponse{Body: templateOut(t, deref(req.Params.AcceptLanguage)),
		Headers: api.GetTemplate200ResponseHeaders{ETag: precondition.ETag(t.Version)}}, nil
}

// UpdateTemplate replaces a template.
func (s *Server) UpdateTemplate(ctx context.Context, req api.UpdateTemplateRequestObject) (api.UpdateTemplateResponseObject, error) {
	pre, err := precondition.From(metadataIn(req.Body.Metadata), req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	t, err := s.rbac.UpdateTemplate(ctx, req.Tenant, req.TemplateId, templateFields(req.Body), pre)
	if err != nil {
		return nil, err
	}
	return api.UpdateTemplate200JSONResponse{Body: templateOut(t, ""), Headers: api.UpdateTemplate200ResponseHeaders{ETag: precondition.ETag(t.Version)}}, nil
}

// DeleteTemplate deletes a template no assignment uses.
func (s *Server) DeleteTemplate(ctx context.Context, req api.DeleteTemplateRequestObject) (api.DeleteTemplateResponseObject, error) {
	if err := s.rbac.DeleteTemplate(ctx, req.Tenant, req.TemplateId); err != nil {
		return nil, err
	}
	return api.DeleteTemplate204Response{}, nil
}
