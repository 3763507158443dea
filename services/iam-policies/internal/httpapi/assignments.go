package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/pagination"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/rbac"
)

func assignmentOut(a *rbac.Assignment) api.Assignment {
	return api.Assignment{Id: a.ID, Subject: a.Subject, AccessControlId: optional(a.AccessControlID), TemplateId: optional(a.TemplateID), CreatedAt: a.CreatedAt}
}

// ListAssignments pages through assignments.
func (s *Server) ListAssignments(ctx context.Context, req api.ListAssignmentsRequestObject) (api.ListAssignmentsResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.rbac.ListAssignments(ctx, req.Tenant, rbac.AssignmentQuery{Subject: deref(req.Params.Subject),
		AccessControlID: deref(req.Params.AccessControlId), TemplateID: deref(req.Params.TemplateId), Offset: p.Offset(), Limit: p.Size})
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(found), total)
	out := api.ListAssignments200JSONResponse{Data: make([]api.Assignment, len(found)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range found {
		out.Data[i] = assignmentOut(&found[i])
	}
	return out, nil
}

// Assign assigns an access control or a template (201), or returns the identical
// existing assignment (200).
func (s *Server) Assign(ctx context.Context, req api.AssignRequestObject) (api.AssignResponseObject, error) {
	a, created, err := s.rbac.Assign(ctx, req.Tenant, req.Body.Subject, deref(req.Body.AccessControlId), deref(req.Body.TemplateId))
	if err != nil {
		return nil, err
	}
	if created {
		return api.Assign201JSONResponse(assignmentOut(a)), nil
	}
	return api.Assign200JSONResponse(assignmentOut(a)), nil
}

// Unassign removes an assignment.
func (s *Server) Unassign(ctx context.Context, req api.UnassignRequestObject) (api.UnassignResponseObject, error) {
	if err := s.rbac.Unassign(ctx, req.Tenant, req.AssignmentId); err != nil {
		return nil, err
	}
	return api.Unassign204Response{}, nil
}

// GetEffectiveAccessControls pages through a subject's access controls, through its groups.
func (s *Server) GetEffectiveAccessControls(ctx context.Context, req api.GetEffectiveAccessControlsRequestObject) (api.GetEffectiveAccessControlsResponseObject, error) {
	subject, err := subjectOf(ctx, req.SubjectId)
	if err != nil {
		return nil, err
	}
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.rbac.EffectiveAccessControls(ctx, req.Tenant, subject, "", expansion(req.Params.Expand), p.Offset(), p.Size)
	if err != nil {
		return nil, err
	}
	return api.GetEffectiveAccessControls200JSONResponse(accessControlList(p, found, total, deref(req.Params.AcceptLanguage))), nil
}

// GetEffectiveAccessControlsForResource is the same, on one resource.
func (s *Server) GetEffectiveAccessControlsForResource(ctx context.Context, req api.GetEffectiveAccessControlsForResourceRequestObject) (api.GetEffectiveAccessControlsForResourceResponseObject, error) {
	subject, err := subjectOf(ctx, req.SubjectId)
	if err != nil {
		return nil, err
	}
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.rbac.EffectiveAccessControls(ctx, req.Tenant, subject, req.ResourceId, expansion(req.Params.Expand), p.Offset(), p.Size)
	if err != nil {
		return nil, err
	}
	return api.GetEffectiveAccessControlsForResource200JSONResponse(accessControlList(p, found, total, deref(req.Params.AcceptLanguage))), nil
}

// GetEffectivePermissions lists what a subject may do on a resource.
func (s *Server) GetEffectivePermissions(ctx context.Context, req api.GetEffectivePermissionsRequestObject) (api.GetEffectivePermissionsResponseObject, error) {
	subject, err := subjectOf(ctx, req.SubjectId)
	if err != nil {
		return nil, err
	}
	found, err := s.rbac.EffectivePermissions(ctx, req.Tenant, subject, req.ResourceId)
	if err != nil {
		return nil, err
	}
	out := api.GetEffectivePermissions200JSONResponse{SubjectId: subject, ResourceId: req.ResourceId, Permissions: make([]api.Permission, len(found))}
	for i := range found {
		out.Permissions[i] = permissionOut(&found[i], deref(req.Params.AcceptLanguage))
	}
	return out, nil
}
