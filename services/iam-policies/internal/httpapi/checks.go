package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/pagination"

	"github.com/iamplane/iam/services/iam-policies/api"
	"github.com/iamplane/iam/services/iam-policies/internal/policies"
)

func decisionOut(d policies.Decision) api.Decision {
	out := api.Decision{Allowed: d.Allowed}
	if d.Via != nil {
		out.Via = &api.Grant{PolicyId: d.Via.ID, GrantedTo: d.Via.GrantedTo, Scope: d.Via.Scope, Action: d.Via.Action}
	}
	return out
}

// Check decides one question.
func (s *Server) Check(ctx context.Context, req api.CheckRequestObject) (api.CheckResponseObject, error) {
	d, err := s.policies.Check(ctx, req.Tenant, policies.Question{Subject: req.Body.Subject, Action: req.Body.Action, Scope: req.Body.Scope})
	if err != nil {
		return nil, err
	}
	return api.Check200JSONResponse(decisionOut(d)), nil
}

// CheckBatch decides many questions, in order.
func (s *Server) CheckBatch(ctx context.Context, req api.CheckBatchRequestObject) (api.CheckBatchResponseObject, error) {
	qs := make([]policies.Question, len(req.Body.Checks))
	for i, q := range req.Body.Checks {
		qs[i] = policies.Question{Subject: q.Subject, Action: q.Action, Scope: q.Scope}
	}
	ds, err := s.policies.CheckBatch(ctx, req.Tenant, qs)
	if err != nil {
		return nil, err
	}
	out := api.CheckBatch200JSONResponse{Decisions: make([]api.Decision, len(ds))}
	for i, d := range ds {
		out.Decisions[i] = decisionOut(d)
	}
	return out, nil
}

// WhoMay lists the subjects allowed an action on a scope.
func (s *Server) WhoMay(ctx context.Context, req api.WhoMayRequestObject) (api.WhoMayResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	found, total, err := s.policies.WhoMay(ctx, req.Tenant, req.Params.Action, req.Params.Scope, p.Offset(), p.Size)
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
	found, err := s.policies.WhereMay(ctx, req.Tenant, subject, req.Params.Action)
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
