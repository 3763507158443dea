package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

func permissionOut(p *rbac.Permission, lang string) api.Permission {
	return api.Permission{Id: p.ID, Name: text(p.Name, lang), Description: optionalText(p.Description, lang), Code: p.Code,
		ApplicableResources: p.ApplicableResources, Metadata: metadataOut(&p.Entry)}
}

func permissionFields(in *api.PermissionInput) rbac.PermissionFields {
	return rbac.PermissionFields{Name: in.Name, Description: description(in.Description), Code: in.Code, ApplicableResources: in.ApplicableResources, Echo: echoOf(in.Id, in.Metadata)}
}

// ListPermissions pages through permissions.
func (s *Server) ListPermissions(ctx context.Context, req api.ListPermissionsRequestObject) (api.ListPermissionsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	q, err := rbacQuery(p, req.Params.Name, req.Params.Description, req.Params.MetadataModifiedAt)
	if err != nil {
		return nil, err
	}
	found, total, err := s.rbac.ListPermissions(ctx, req.Tenant, q)
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(found), total)
	out := api.ListPermissions200JSONResponse{Data: make([]api.Permission, len(found)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range found {
		out.Data[i] = permissionOut(&found[i], deref(req.Params.AcceptLanguage))
	}
	return out, nil
}

// CreatePermission adds a permission.
func (s *Server) CreatePermission(ctx context.Context, req api.CreatePermissionRequestObject) (api.CreatePermissionResponseObject, error) {
	p, err := s.rbac.CreatePermission(ctx, req.Tenant, permissionFields(req.Body))
	if err != nil {
		return nil, err
	}
	return api.CreatePermission201JSONResponse{Body: permissionOut(p, ""), Headers: api.CreatePermission201ResponseHeaders{ETag: precondition.ETag(p.Version)}}, nil
}

// GetPermission reads a permission.
func (s *Server) GetPermission(ctx context.Context, req api.GetPermissionRequestObject) (api.GetPermissionResponseObject, error) {
	p, err := s.rbac.GetPermission(ctx, req.Tenant, req.PermissionId)
	if err != nil {
		return nil, err
	}
	return api.GetPermission200JSONResponse{Body: permissionOut(p, deref(req.Params.AcceptLanguage)), Headers: api.GetPermission200ResponseHeaders{ETag: precondition.ETag(p.Version)}}, nil
}

// UpdatePermission replaces a permission.
func (s *Server) UpdatePermission(ctx context.Context, req api.UpdatePermissionRequestObject) (api.UpdatePermissionResponseObject, error) {
	pre, err := precondition.From(metadataIn(req.Body.Metadata), req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	p, err := s.rbac.UpdatePermission(ctx, req.Tenant, req.PermissionId, permissionFields(req.Body), pre)
	if err != nil {
		return nil, err
	}
	return api.UpdatePermission200JSONResponse{Body: permissionOut(p, ""), Headers: api.UpdatePermission200ResponseHeaders{ETag: precondition.ETag(p.Version)}}, nil
}

// DeletePermission deletes a permission no role has.
func (s *Server) DeletePermission(ctx context.Context, req api.DeletePermissionRequestObject) (api.DeletePermissionResponseObject, error) {
	if err := s.rbac.DeletePermission(ctx, req.Tenant, req.PermissionId); err != nil {
		return nil, err
	}
	return api.DeletePermission204Response{}, nil
}
