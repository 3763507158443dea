package httpapi

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/pagination"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/policies"
)

func policyOut(p *policies.Policy) api.Policy {
	out := api.Policy{Id: p.ID, Tenant: p.Tenant, Subject: p.Subject, Scope: p.Scope, Action: p.Action,
		ResourceType: optional(p.ResourceType), ResourceProvider: optional(p.ResourceProvider), GrantedTo: optional(p.GrantedTo)}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// subjectOf resolves `me` to the caller's subject.
func subjectOf(ctx context.Context, id string) (string, error) {
	if id != "me" {
		return id, nil
	}
	if c := auth.FromContext(ctx); c != nil {
		return c.Subject, nil
	}
	return "", errs.E(errs.Unauthorized, "no caller")
}

// ListPolicies pages through policies.
func (s *Server) ListPolicies(ctx context.Context, req api.ListPoliciesRequestObject) (api.ListPoliciesResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.Policies.Store.List(ctx, req.Tenant, policies.Filter{Subject: deref(req.Params.Subject), Scope: deref(req.Params.Scope),
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
	p, created, err := s.Policies.Grant(ctx, req.Tenant, req.Body.Subject, req.Body.Scope, req.Body.Action, uuid.NewString())
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
	scope := deref(req.Params.Scope)
	if scope != "/" {
		scope = strings.TrimRight(scope, "/")
	}
	n, err := s.Policies.Revoke(ctx, req.Tenant, policies.Filter{Subject: req.Params.Subject, Scope: scope, Action: deref(req.Params.Action)})
	if err != nil {
		return nil, err
	}
	return api.RevokePolicies200JSONResponse{Revoked: n}, nil
}

func decisionOut(d policies.Decision) api.Decision {
	out := api.Decision{Allowed: d.Allowed}
	if d.Via != nil {
		out.Via = &api.Grant{PolicyId: d.Via.ID, GrantedTo: d.Via.GrantedTo, Scope: d.Via.Scope, Action: d.Via.Action}
	}
	return out
}

// Check decides one question.
func (s *Server) Check(ctx context.Context, req api.CheckRequestObject) (api.CheckResponseObject, error) {
	d, err := s.Policies.Check(ctx, req.Tenant, policies.Question{Subject: req.Body.Subject, Action: req.Body.Action, Scope: req.Body.Scope})
	if err != nil {
		return nil, err
	}
	return api.Check200JSONResponse(decisionOut(d)), nil
}

// CheckBatch decides many questions, in order.
func (s *Server) CheckBatch(ctx context.Context, req api.CheckBatchRequestObject) (api.CheckBatchResponseObject, error) {
	out := api.CheckBatch200JSONResponse{Decisions: make([]api.Decision, len(req.Body.Checks))}
	for i, q := range req.Body.Checks {
		d, err := s.Policies.Check(ctx, req.Tenant, policies.Question{Subject: q.Subject, Action: q.Action, Scope: q.Scope})
		if err != nil {
			return nil, err
		}
		out.Decisions[i] = decisionOut(d)
	}
	return out, nil
}

// GetEffectivePolicies lists a subject's policies with those of its groups.
func (s *Server) GetEffectivePolicies(ctx context.Context, req api.GetEffectivePoliciesRequestObject) (api.GetEffectivePoliciesResponseObject, error) {
	subject, err := subjectOf(ctx, req.SubjectId)
	if err != nil {
		return nil, err
	}
	found, err := s.Policies.Store.Effective(ctx, req.Tenant, subject, policies.Filter{Action: deref(req.Params.Action),
		ResourceType: deref(req.Params.ResourceType), ResourceProvider: deref(req.Params.ResourceProvider)})
	if err != nil {
		return nil, err
	}
	roles, err := s.Policies.Store.TenantRoles(ctx, req.Tenant, subject)
	if err != nil {
		return nil, err
	}
	out := api.GetEffectivePolicies200JSONResponse{Subject: subject, TenantRoles: roles, Policies: make([]api.Policy, len(found))}
	for i := range found {
		out.Policies[i] = policyOut(&found[i])
	}
	return out, nil
}

// GetEffectiveScopes is the subject's entitled scopes in the Emporix form.
func (s *Server) GetEffectiveScopes(ctx context.Context, req api.GetEffectiveScopesRequestObject) (api.GetEffectiveScopesResponseObject, error) {
	subject, err := subjectOf(ctx, req.SubjectId)
	if err != nil {
		return nil, err
	}
	scopes, err := s.Policies.Store.EntitledScopes(ctx, req.Tenant, subject)
	if err != nil {
		return nil, err
	}
	return api.GetEffectiveScopes200JSONResponse{SubjectId: subject, Scopes: strings.Join(append(scopes, "tenant="+req.Tenant), " ")}, nil
}

// GetTenantRoles reads a subject's tenant roles.
func (s *Server) GetTenantRoles(ctx context.Context, req api.GetTenantRolesRequestObject) (api.GetTenantRolesResponseObject, error) {
	roles, err := s.Policies.Store.TenantRoles(ctx, req.Tenant, req.SubjectId)
	if err != nil {
		return nil, err
	}
	return api.GetTenantRoles200JSONResponse{Subject: req.SubjectId, TenantRoles: roles}, nil
}

// SetTenantRoles replaces a subject's tenant roles.
func (s *Server) SetTenantRoles(ctx context.Context, req api.SetTenantRolesRequestObject) (api.SetTenantRolesResponseObject, error) {
	if err := s.Policies.Store.SetTenantRoles(ctx, req.Tenant, req.SubjectId, req.Body.TenantRoles); err != nil {
		return nil, err
	}
	return api.SetTenantRoles200JSONResponse{Subject: req.SubjectId, TenantRoles: req.Body.TenantRoles}, nil
}

// WhoMay lists the subjects allowed an action on a scope.
func (s *Server) WhoMay(ctx context.Context, req api.WhoMayRequestObject) (api.WhoMayResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.Policies.WhoMay(ctx, req.Tenant, req.Params.Action, req.Params.Scope, p.Offset(), p.Size)
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(found), total)
	out := api.WhoMay200JSONResponse{Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	out.Data = make([]struct {
		GrantedTo string `json:"grantedTo"`
		Scope     string `json:"scope"`
		Subject   string `json:"subject"`
	}, len(found))
	for i, f := range found {
		out.Data[i].Subject, out.Data[i].GrantedTo, out.Data[i].Scope = f.Subject, f.GrantedTo, f.Scope
	}
	return out, nil
}

// WhereMay lists the scope paths on which a subject may do an action.
func (s *Server) WhereMay(ctx context.Context, req api.WhereMayRequestObject) (api.WhereMayResponseObject, error) {
	subject, err := subjectOf(ctx, req.SubjectId)
	if err != nil {
		return nil, err
	}
	found, err := s.Policies.Store.WhereMay(ctx, req.Tenant, subject, req.Params.Action)
	if err != nil {
		return nil, err
	}
	out := api.WhereMay200JSONResponse{Subject: subject, Action: req.Params.Action}
	out.Scopes = make([]struct {
		GrantedTo string `json:"grantedTo"`
		Scope     string `json:"scope"`
	}, len(found))
	for i, f := range found {
		out.Scopes[i].Scope, out.Scopes[i].GrantedTo = f.Scope, f.GrantedTo
	}
	return out, nil
}
