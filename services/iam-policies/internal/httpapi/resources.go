package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

func resourceOut(r *rbac.Resource, lang string) api.Resource {
	return api.Resource{Id: r.ID, Name: text(r.Name, lang), Description: optionalText(r.Description, lang), Code: r.Code, Metadata: metadataOut(&r.Entry)}
}

func resourceFields(in *api.ResourceInput) rbac.ResourceFields {
	return rbac.ResourceFields{Name: in.Name, Description: description(in.Description), Code: in.Code, Echo: echoOf(in.Id, in.Metadata)}
}

// ListResources pages through resources.
func (s *Server) ListResources(ctx context.Context, req api.ListResourcesRequestObject) (api.ListResourcesResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	q, err := rbacQuery(p, req.Params.Name, req.Params.Description, req.Params.MetadataModifiedAt)
	if err != nil {
		return nil, err
	}
	found, total, err := s.rbac.ListResources(ctx, req.Tenant, q)
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(found), total)
	out := api.ListResources200JSONResponse{Data: make([]api.Resource, len(found)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range found {
		out.Data[i] = resourceOut(&found[i], deref(req.Params.AcceptLanguage))
	}
	return out, nil
}

// CreateResource adds a resource.
func (s *Server) CreateResource(ctx context.Context, req api.CreateResourceRequestObject) (api.CreateResourceResponseObject, error) {
	r, err := s.rbac.CreateResource(ctx, req.Tenant, resourceFields(req.Body))
	if err != nil {
		return nil, err
	}
	return api.CreateResource201JSONResponse{Body: resourceOut(r, ""), Headers: api.CreateResource201ResponseHeaders{ETag: precondition.ETag(r.Version)}}, nil
}

// GetResource reads a resource.
func (s *Server) GetResource(ctx context.Context, req api.GetResourceRequestObject) (api.GetResourceResponseObject, error) {
	r, err := s.rbac.GetResource(ctx, req.Tenant, req.ResourceId)
	if err != nil {
		return nil, err
	}
	return api.GetResource200JSONResponse{Body: resourceOut(r, deref(req.Params.AcceptLanguage)), Headers: api.GetResource200ResponseHeaders{ETag: precondition.ETag(r.Version)}}, nil
}

// UpdateResource replaces a resource.
func (s *Server) UpdateResource(ctx context.Context, req api.UpdateResourceRequestObject) (api.UpdateResourceResponseObject, error) {
	pre, err := precondition.From(metadataIn(req.Body.Metadata), req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	r, err := s.rbac.UpdateResource(ctx, req.Tenant, req.ResourceId, resourceFields(req.Body), pre)
	if err != nil {
		return nil, err
	}
	return api.UpdateResource200JSONResponse{Body: resourceOut(r, ""), Headers: api.UpdateResource200ResponseHeaders{ETag: precondition.ETag(r.Version)}}, nil
}

// DeleteResource deletes a resource nothing refers to.
func (s *Server) DeleteResource(ctx context.Context, req api.DeleteResourceRequestObject) (api.DeleteResourceResponseObject, error) {
	if err := s.rbac.DeleteResource(ctx, req.Tenant, req.ResourceId); err != nil {
		return nil, err
	}
	return api.DeleteResource204Response{}, nil
}
