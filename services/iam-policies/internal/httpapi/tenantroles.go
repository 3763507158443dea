package httpapi

import (
	"context"

	"github.com/iamplane/iam/services/iam-policies/api"
)

// GetTenantRoles reads a subject's tenant roles.
func (s *Server) GetTenantRoles(ctx context.Context, req api.GetTenantRolesRequestObject) (api.GetTenantRolesResponseObject, error) {
	roles, err := s.policies.TenantRoles(ctx, req.Tenant, req.SubjectId)
	if err != nil {
		return nil, err
	}
	return api.GetTenantRoles200JSONResponse{Subject: req.SubjectId, TenantRoles: roles}, nil
}

// SetTenantRoles replaces a subject's tenant roles.
func (s *Server) SetTenantRoles(ctx context.Context, req api.SetTenantRolesRequestObject) (api.SetTenantRolesResponseObject, error) {
	if err := s.policies.SetTenantRoles(ctx, req.Tenant, req.SubjectId, req.Body.TenantRoles, req.Body.Subject); err != nil {
		return nil, err
	}
	return api.SetTenantRoles200JSONResponse{Subject: req.SubjectId, TenantRoles: req.Body.TenantRoles}, nil
}
