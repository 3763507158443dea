package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

func roleOut(r *rbac.Role, lang string) api.Role {
	out := api.Role{Id: r.ID, Name: text(r.Name, lang), Description: optionalText(r.Description, lang),
		Permissions: make([]api.RolePermission, len(r.Permissions)), Metadata: metadataOut(&r.Entry)}
	for i, p := range r.Permissions {
		out.Permissions[i] = api.RolePermission{Id: p.ID}
		if len(p.Resources) > 0 {
			out.Permissions[i].ApplicablePermissionResources = &p.Resources
		}
	}
	return out
}

func roleFields(in *api.RoleInput) rbac.RoleFields {
	f := rbac.RoleFields{Name: in.Name, Description: description(in.Description), Permissions: make([]rbac.RolePermission, len(in.Permissions)), Echo: echoOf(in.Id, in.Metadata)}
	for i, p := range in.Permissions {
		f.Permissions[i] = rbac.RolePermission{ID: p.Id, Resources: deref(p.ApplicablePermissionResources)}
	}
	return f
}

// ListRoles pages through roles.
func (s *Server) ListRoles(ctx context.Context, req api.ListRolesRequestObject) (api.ListRolesResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	q, err := rbacQuery(p, req.Params.Name, req.Params.Description, req.Params.MetadataModifiedAt)
	if err != nil {
		return nil, err
	}
	found, total, err := s.rbac.ListRoles(ctx, req.Tenant, q)
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(found), total)
	out := api.ListRoles200JSONResponse{Data: make([]api.Role, len(found)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range found {
		out.Data[i] = roleOut(&found[i], deref(req.Params.AcceptLanguage))
	}
	return out, nil
}

// CreateRole adds a role.
func (s *Server) CreateRole(ctx context.Context, req api.CreateRoleRequestObject) (api.CreateRoleResponseObject, error) {
	r, err := s.rbac.CreateRole(ctx, req.Tenant, roleFields(req.Body))
	if err != nil {
		return nil, err
	}
	return api.CreateRole201JSONResponse{Body: roleOut(r, ""), Headers: api.CreateRole201ResponseHeaders{ETag: precondition.ETag(r.Version)}}, nil
}

// GetRole reads a role.
func (s *Server) GetRole(ctx context.Context, req api.GetRoleRequestObject) (api.GetRoleResponseObject, error) {
	r, err := s.rbac.GetRole(ctx, req.Tenant, req.RoleId)
	if err != nil {
		return nil, err
	}
	return api.GetRole200JSONResponse{Body: roleOut(r, deref(req.Params.AcceptLanguage)), Headers: api.GetRole200ResponseHeaders{ETag: precondition.ETag(r.Version)}}, nil
}

// UpdateRole replaces a role.
func (s *Server) UpdateRole(ctx context.Context, req api.UpdateRoleRequestObject) (api.UpdateRoleResponseObject, error) {
	pre, err := precondition.From(metadataIn(req.Body.Metadata), req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	r, err := s.rbac.UpdateRole(ctx, req.Tenant, req.RoleId, roleFields(req.Body), pre)
	if err != nil {
		return nil, err
	}
	return api.UpdateRole200JSONResponse{Body: roleOut(r, ""), Headers: api.UpdateRole200ResponseHeaders{ETag: precondition.ETag(r.Version)}}, nil
}

// DeleteRole deletes a role no access control uses.
func (s *Server) DeleteRole(ctx context.Context, req api.DeleteRoleRequestObject) (api.DeleteRoleResponseObject, error) {
	if err := s.rbac.DeleteRole(ctx, req.Tenant, req.RoleId); err != nil {
		return nil, err
	}
	return api.DeleteRole204Response{}, nil
}
