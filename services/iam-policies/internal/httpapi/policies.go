package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/pagination"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/policies"
)

func policyOut(p *policies.Policy) api.Policy {
	return api.Policy{Id: p.ID, Tenant: p.Tenant, Subject: p.Subject, Scope: p.Scope, Action: p.Action,
		ResourceType: optional(p.ResourceType), ResourceProvider: optional(p.ResourceProvider), GrantedTo: optional(p.GrantedTo)}
}

// ListPolicies pages through policies.
func (s *Server) ListPolicies(ctx context.Context, req api.ListPoliciesRequestObject) (api.ListPoliciesResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.policies.List(ctx, req.Tenant, policies.Filter{Subject: deref(req.Params.Subject), Scope: deref(req.Params.Scope),
		Action: deref(req.Params.Action), ResourceType: deref(req.Params.ResourceType), ResourceProvider: deref(req.Params.ResourceProvider),
		Offset: p.Offset(), Limit: p.Size})
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(found), total)
	out := api.ListPolicies200JSONResponse{Data: make([]api.Policy, len(found)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range found {
		out.Data[i] = policyOut(&found[i])
	}
	return out, nil
}

// GrantPolicy grants a policy (201), or returns the identical existing one (200).
func (s *Server) GrantPolicy(ctx context.Context, req api.GrantPolicyRequestObject) (api.GrantPolicyResponseObject, error) {
	p, created, err := s.policies.Grant(ctx, req.Tenant, req.Body.Subject, req.Body.Scope, req.Body.Action)
	if err != nil {
		return nil, err
	}
	if created {
		return api.GrantPolicy201JSONResponse(policyOut(p)), nil
	}
	return api.GrantPolicy200JSONResponse(policyOut(p)), nil
}

// RevokePolicies revokes the matching policies of a subject.
func (s *Server) RevokePolicies(ctx context.Context, req api.RevokePoliciesRequestObject) (api.RevokePoliciesResponseObject, error) {
	n, err := s.policies.Revoke(ctx, req.Tenant, policies.Filter{Subject: req.Params.Subject, Scope: deref(req.Params.Scope), Action: deref(req.Params.Action)})
	if err != nil {
		return nil, err
	}
	return api.RevokePolicies200JSONResponse{Revoked: n}, nil
}

// GetEffectivePolicies lists a subject's policies with those of its groups.
func (s *Server) GetEffectivePolicies(ctx context.Context, req api.GetEffectivePoliciesRequestObject) (api.GetEffectivePoliciesResponseObject, error) {
	subject, err := subjectOf(ctx, req.SubjectId)
	if err != nil {
		return nil, err
	}
	found, err := s.policies.EffectivePolicies(ctx, req.Tenant, subject, policies.Filter{Action: deref(req.Params.Action),
		ResourceType: deref(req.Params.ResourceType), ResourceProvider: deref(req.Params.ResourceProvider)})
	if err != nil {
		return nil, err
	}
	out := api.GetEffectivePolicies200JSONResponse{Subject: subject, TenantRoles: found.TenantRoles, Policies: make([]api.Policy, len(found.Policies))}
	for i := range found.Policies {
		out.Policies[i] = policyOut(&found.Policies[i])
	}
	return out, nil
}
