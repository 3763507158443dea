package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

func accessControlOut(a *rbac.AccessControl, lang string) api.AccessControl {
	out := api.AccessControl{Id: a.ID, Name: text(a.Name, lang), Description: optionalText(a.Description, lang),
		RoleId: a.RoleID, ResourceId: a.ResourceID, Scopes: a.Scopes, Metadata: metadataOut(&a.Entry)}
	if a.Role != nil {
		r := roleOut(a.Role, lang)
		out.Role = &r
	}
	if a.Resource != nil {
		r := resourceOut(a.Resource, lang)
		out.Resource = &r
	}
	return out
}

func accessControlList(p pagination.Page, found []rbac.AccessControl, total int, lang string) api.AccessControlList {
	info := p.Describe(len(found), total)
	out := api.AccessControlList{Data: make([]api.AccessControl, len(found)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range found {
		out.Data[i] = accessControlOut(&found[i], lang)
	}
	return out
}

func accessControlFields(in *api.AccessControlInput) rbac.AccessControlFields {
	f := rbac.AccessControlFields{Name: in.Name, Description: description(in.Description), RoleID: in.RoleId, ResourceID: in.ResourceId, Echo: echoOf(in.Id, in.Metadata)}
	if in.Scopes != nil {
		f.Echo.Scopes = *in.Scopes
	}
	return f
}

// ListAccessControls pages through access controls.
func (s *Server) ListAccessControls(ctx context.Context, req api.ListAccessControlsRequestObject) (api.ListAccessControlsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	q, err := rbacQuery(p, req.Params.Name, req.Params.Description, req.Params.MetadataModifiedAt)
	if err != nil {
		return nil, err
	}
	q.RoleID, q.ResourceID = deref(req.Params.RoleId), deref(req.Params.ResourceId)
	found, total, err := s.rbac.ListAccessControls(ctx, req.Tenant, q, expansion(req.Params.Expand))
	if err != nil {
		return nil, err
	}
	return api.ListAccessControls200JSONResponse(accessControlList(p, found, total, deref(req.Params.AcceptLanguage))), nil
}

// CreateAccessControl adds an access control.
func (s *Server) CreateAccessControl(ctx context.Context, req api.CreateAccessControlRequestObject) (api.CreateAccessControlResponseObject, error) {
	a, err := s.rbac.CreateAccessControl(ctx, req.Tenant, accessControlFields(req.Body))
	if err != nil {
		return nil, err
	}
	return api.CreateAccessControl201JSONResponse{Body: accessControlOut(a, ""), Headers: api.CreateAccessControl201ResponseHeaders{ETag: precondition.ETag(a.Version)}}, nil
}

// GetAccessControl reads an access control.
func (s *Server) GetAccessControl(ctx context.Context, req api.GetAccessControlRequestObject) (api.GetAccessControlResponseObject, error) {
	a, err := s.rbac.GetAccessControl(ctx, req.Tenant, req.AccessControlId, expansion(req.Params.Expand))
	if err != nil {
		return nil, err
	}
	return api.GetAccessControl200JSONResponse{Body: accessControlOut(a, deref(req.Params.AcceptLanguage)),
		Headers: api.GetAccessControl200ResponseHeaders{ETag: precondition.ETag(a.Version)}}, nil
}

// UpdateAccessControl replaces an access control.
func (s *Server) UpdateAccessControl(ctx context.Context, req api.UpdateAccessControlRequestObject) (api.UpdateAccessControlResponseObject, error) {
	pre, err := precondition.From(metadataIn(req.Body.Metadata), req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	a, err := s.rbac.UpdateAccessControl(ctx, req.Tenant, req.AccessControlId, accessControlFields(req.Body), pre)
	if err != nil {
		return nil, err
	}
	return api.UpdateAccessControl200JSONResponse{Body: accessControlOut(a, ""), Headers: api.UpdateAccessControl200ResponseHeaders{ETag: precondition.ETag(a.Version)}}, nil
}

// DeleteAccessControl deletes an access control no template or assignment uses.
func (s *Server) DeleteAccessControl(ctx context.Context, req api.DeleteAccessControlRequestObject) (api.DeleteAccessControlResponseObject, error) {
	if err := s.rbac.DeleteAccessControl(ctx, req.Tenant, req.AccessControlId); err != nil {
		return nil, err
	}
	return api.DeleteAccessControl204Response{}, nil
}
