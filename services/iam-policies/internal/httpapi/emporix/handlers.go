package emporix

import (
	"github.com/iamplane/iam/pkg/dialect"

	"context"
	"strings"

	api "github.com/iamplane/iam/services/iam-policies/api/emporix"
)

// ListAccessControls pages through the tenant's access controls.
func (s *Server) ListAccessControls(ctx context.Context, req api.ListAccessControlsRequestObject) (api.ListAccessControlsResponseObject, error) {
	q, err := query(dialect.EmporixPageOf(req.Params.PageNumber, req.Params.PageSize), nil, nil, nil, req.Params.MetadataModifiedAt, req.Params.AcceptLanguage)
	if err != nil {
		return nil, err
	}
	q.RoleID, q.ResourceID = deref(req.Params.RoleId), deref(req.Params.ResourceId)
	found, total, err := s.rbac.ListAccessControls(ctx, req.Tenant, q, expansion(req.Params.Expand))
	if err != nil {
		return nil, err
	}
	return api.ListAccessControls200JSONResponse{Body: accessControlsOut(found, deref(req.Params.AcceptLanguage)),
		Headers: api.ListAccessControls200ResponseHeaders{XTotalCount: dialect.EmporixTotal(req.Params.XTotalCount, total)}}, nil
}

// GetAccessControl reads one access control.
func (s *Server) GetAccessControl(ctx context.Context, req api.GetAccessControlRequestObject) (api.GetAccessControlResponseObject, error) {
	a, err := s.rbac.GetAccessControl(ctx, req.Tenant, req.AccessControlId, expansion(req.Params.Expand))
	if err != nil {
		return nil, err
	}
	return api.GetAccessControl200JSONResponse(accessControlOut(a, deref(req.Params.AcceptLanguage))), nil
}

// ListGroupAccessControls pages through a group's access controls.
func (s *Server) ListGroupAccessControls(ctx context.Context, req api.ListGroupAccessControlsRequestObject) (api.ListGroupAccessControlsResponseObject, error) {
	p := dialect.EmporixPageOf(req.Params.PageNumber, req.Params.PageSize)
	found, total, err := s.rbac.EffectiveAccessControls(ctx, req.Tenant, "group-"+req.GroupId, "", expansion(req.Params.Expand), p.Offset(), p.Size)
	if err != nil {
		return nil, err
	}
	return api.ListGroupAccessControls200JSONResponse{Body: accessControlsOut(found, deref(req.Params.AcceptLanguage)),
		Headers: api.ListGroupAccessControls200ResponseHeaders{XTotalCount: dialect.EmporixTotal(req.Params.XTotalCount, total)}}, nil
}

// ListPermissions pages through the tenant's permissions.
func (s *Server) ListPermissions(ctx context.Context, req api.ListPermissionsRequestObject) (api.ListPermissionsResponseObject, error) {
	q, err := query(dialect.EmporixPageOf(req.Params.PageNumber, req.Params.PageSize), req.Params.Sort, req.Params.Name, req.Params.Description,
		req.Params.MetadataModifiedAt, req.Params.AcceptLanguage)
	if err != nil {
		return nil, err
	}
	found, total, err := s.rbac.ListPermissions(ctx, req.Tenant, q)
	if err != nil {
		return nil, err
	}
	out := make([]api.Permission, len(found))
	for i := range found {
		out[i] = permissionOut(&found[i], deref(req.Params.AcceptLanguage))
	}
	return api.ListPermissions200JSONResponse{Body: out, Headers: api.ListPermissions200ResponseHeaders{XTotalCount: dialect.EmporixTotal(req.Params.XTotalCount, total)}}, nil
}

// GetPermission reads one permission.
func (s *Server) GetPermission(ctx context.Context, req api.GetPermissionRequestObject) (api.GetPermissionResponseObject, error) {
	p, err := s.rbac.GetPermission(ctx, req.Tenant, req.PermissionId)
	if err != nil {
		return nil, err
	}
	return api.GetPermission200JSONResponse(permissionOut(p, deref(req.Params.AcceptLanguage))), nil
}

// ListResources pages through the tenant's resources.
func (s *Server) ListResources(ctx context.Context, req api.ListResourcesRequestObject) (api.ListResourcesResponseObject, error) {
	q, err := query(dialect.EmporixPageOf(req.Params.PageNumber, req.Params.PageSize), req.Params.Sort, req.Params.Name, req.Params.Description,
		req.Params.MetadataModifiedAt, req.Params.AcceptLanguage)
	if err != nil {
		return nil, err
	}
	found, total, err := s.rbac.ListResources(ctx, req.Tenant, q)
	if err != nil {
		return nil, err
	}
	out := make([]api.Resource, len(found))
	for i := range found {
		out[i] = resourceOut(&found[i], deref(req.Params.AcceptLanguage))
	}
	return api.ListResources200JSONResponse{Body: out, Headers: api.ListResources200ResponseHeaders{XTotalCount: dialect.EmporixTotal(req.Params.XTotalCount, total)}}, nil
}

// GetResource reads one resource.
func (s *Server) GetResource(ctx context.Context, req api.GetResourceRequestObject) (api.GetResourceResponseObject, error) {
	r, err := s.rbac.GetResource(ctx, req.Tenant, req.ResourceId)
	if err != nil {
		return nil, err
	}
	return api.GetResource200JSONResponse(resourceOut(r, deref(req.Params.AcceptLanguage))), nil
}

// ListRoles pages through the tenant's roles.
func (s *Server) ListRoles(ctx context.Context, req api.ListRolesRequestObject) (api.ListRolesResponseObject, error) {
	q, err := query(dialect.EmporixPageOf(req.Params.PageNumber, req.Params.PageSize), req.Params.Sort, req.Params.Name, req.Params.Description,
		req.Params.MetadataModifiedAt, req.Params.AcceptLanguage)
	if err != nil {
		return nil, err
	}
	found, total, err := s.rbac.ListRoles(ctx, req.Tenant, q)
	if err != nil {
		return nil, err
	}
	out := make([]api.Role, len(found))
	for i := range found {
		out[i] = roleOut(&found[i], deref(req.Params.AcceptLanguage))
	}
	return api.ListRoles200JSONResponse{Body: out, Headers: api.ListRoles200ResponseHeaders{XTotalCount: dialect.EmporixTotal(req.Params.XTotalCount, total)}}, nil
}

// GetRole reads one role.
func (s *Server) GetRole(ctx context.Context, req api.GetRoleRequestObject) (api.GetRoleResponseObject, error) {
	r, err := s.rbac.GetRole(ctx, req.Tenant, req.RoleId)
	if err != nil {
		return nil, err
	}
	return api.GetRole200JSONResponse(roleOut(r, deref(req.Params.AcceptLanguage))), nil
}

// ListTemplates pages through the tenant's templates.
func (s *Server) ListTemplates(ctx context.Context, req api.ListTemplatesRequestObject) (api.ListTemplatesResponseObject, error) {
	q, err := query(dialect.EmporixPageOf(req.Params.PageNumber, req.Params.PageSize), req.Params.Sort, req.Params.Name, req.Params.Description,
		nil, req.Params.AcceptLanguage)
	if err != nil {
		return nil, err
	}
	found, total, err := s.rbac.ListTemplates(ctx, req.Tenant, q, expansion(req.Params.Expand))
	if err != nil {
		return nil, err
	}
	out := make([]api.Template, len(found))
	for i := range found {
		out[i] = templateOut(&found[i], deref(req.Params.AcceptLanguage))
	}
	return api.ListTemplates200JSONResponse{Body: out, Headers: api.ListTemplates200ResponseHeaders{XTotalCount: dialect.EmporixTotal(req.Params.XTotalCount, total)}}, nil
}

// GetTemplate reads one template.
func (s *Server) GetTemplate(ctx context.Context, req api.GetTemplateRequestObject) (api.GetTemplateResponseObject, error) {
	t, err := s.rbac.GetTemplate(ctx, req.Tenant, req.TemplateId, expansion(req.Params.Expand))
	if err != nil {
		return nil, err
	}
	return api.GetTemplate200JSONResponse(templateOut(t, deref(req.Params.AcceptLanguage))), nil
}

// ListUserAccessControls pages through a user's access controls.
func (s *Server) ListUserAccessControls(ctx context.Context, req api.ListUserAccessControlsRequestObject) (api.ListUserAccessControlsResponseObject, error) {
	p := dialect.EmporixPageOf(req.Params.PageNumber, req.Params.PageSize)
	found, total, err := s.rbac.EffectiveAccessControls(ctx, req.Tenant, userSubject(req.UserId), "", expansion(req.Params.Expand), p.Offset(), p.Size)
	if err != nil {
		return nil, err
	}
	return api.ListUserAccessControls200JSONResponse{Body: accessControlsOut(found, deref(req.Params.AcceptLanguage)),
		Headers: api.ListUserAccessControls200ResponseHeaders{XTotalCount: dialect.EmporixTotal(req.Params.XTotalCount, total)}}, nil
}

// ListMyAccessControls pages through the caller's access controls.
func (s *Server) ListMyAccessControls(ctx context.Context, req api.ListMyAccessControlsRequestObject) (api.ListMyAccessControlsResponseObject, error) {
	subject, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p := dialect.EmporixPageOf(req.Params.PageNumber, req.Params.PageSize)
	found, total, err := s.rbac.EffectiveAccessControls(ctx, req.Tenant, subject, "", expansion(req.Params.Expand), p.Offset(), p.Size)
	if err != nil {
		return nil, err
	}
	return api.ListMyAccessControls200JSONResponse{Body: accessControlsOut(found, deref(req.Params.AcceptLanguage)),
		Headers: api.ListMyAccessControls200ResponseHeaders{XTotalCount: dialect.EmporixTotal(req.Params.XTotalCount, total)}}, nil
}

// ListUserResourceAccessControls lists a user's access controls on one resource.
func (s *Server) ListUserResourceAccessControls(ctx context.Context, req api.ListUserResourceAccessControlsRequestObject) (api.ListUserResourceAccessControlsResponseObject, error) {
	found, _, err := s.rbac.EffectiveAccessControls(ctx, req.Tenant, userSubject(req.UserId), req.ResourceId, expansion(req.Params.Expand), 0, onePage)
	if err != nil {
		return nil, err
	}
	return api.ListUserResourceAccessControls200JSONResponse(accessControlsOut(found, deref(req.Params.AcceptLanguage))), nil
}

// ListUserPermissions lists what a user may do on one resource.
func (s *Server) ListUserPermissions(ctx context.Context, req api.ListUserPermissionsRequestObject) (api.ListUserPermissionsResponseObject, error) {
	found, err := s.rbac.EffectivePermissions(ctx, req.Tenant, userSubject(req.UserId), req.ResourceId)
	if err != nil {
		return nil, err
	}
	out := make([]api.Permission, len(found))
	for i := range found {
		out[i] = permissionOut(&found[i], deref(req.Params.AcceptLanguage))
	}
	return api.ListUserPermissions200JSONResponse(out), nil
}

// GetUserScopes is a user's scopes, one space-separated string.
func (s *Server) GetUserScopes(ctx context.Context, req api.GetUserScopesRequestObject) (api.GetUserScopesResponseObject, error) {
	scopes, err := s.policies.EffectiveScopes(ctx, req.Tenant, userSubject(req.UserId))
	if err != nil {
		return nil, err
	}
	return api.GetUserScopes200JSONResponse{UserId: req.UserId, Scopes: strings.Join(scopes, " ")}, nil
}

// GetMyScopes is the caller's scopes.
func (s *Server) GetMyScopes(ctx context.Context, req api.GetMyScopesRequestObject) (api.GetMyScopesResponseObject, error) {
	subject, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	scopes, err := s.policies.EffectiveScopes(ctx, req.Tenant, subject)
	if err != nil {
		return nil, err
	}
	return api.GetMyScopes200JSONResponse{UserId: userID(subject), Scopes: strings.Join(scopes, " ")}, nil
}
