package httpapi

import (
	"context"

	"github.com/iamplane/iam/pkg/apicommon"
	"github.com/iamplane/iam/pkg/pagination"
	"github.com/iamplane/iam/pkg/precondition"

	"github.com/iamplane/iam/services/oauth-clients/api"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
)

func scopeOut(d *scopes.Definition) api.Scope {
	created, updated := d.CreatedAt, d.UpdatedAt
	return api.Scope{
		Name: d.Name, DisplayName: d.DisplayName, Description: d.Description,
		UserPolicyId: d.UserPolicyID, DeveloperPolicyId: d.DeveloperPolicyID, BuiltIn: d.BuiltIn,
		CreatedBy: optional(d.CreatedBy), UpdatedBy: optional(d.UpdatedBy),
		Metadata: apicommon.Metadata{Version: d.Version, CreatedAt: &created, ModifiedAt: &updated},
	}
}

// ListScopes pages through the tenant's and the built-in scope definitions.
func (s *Server) ListScopes(ctx context.Context, req api.ListScopesRequestObject) (api.ListScopesResponseObject, error) {
	p := pagination.From(req.Params.Page, req.Params.PageSize)
	page, err := s.scopes.List(ctx, req.Tenant, scopes.ListQuery{Search: deref(req.Params.SearchQuery), Offset: p.Offset(), Limit: p.Size})
	if err != nil {
		return nil, err
	}
	info := p.Describe(len(page.Definitions), page.Total)
	out := api.ListScopes200JSONResponse{Data: make([]api.Scope, len(page.Definitions)),
		Page: info.Page, PageSize: info.PageSize, Count: info.Count, Total: info.Total, TotalPages: info.TotalPages}
	for i := range page.Definitions {
		out.Data[i] = scopeOut(&page.Definitions[i])
	}
	return out, nil
}

// CreateScope defines a scope.
func (s *Server) CreateScope(ctx context.Context, req api.CreateScopeRequestObject) (api.CreateScopeResponseObject, error) {
	b := req.Body
	d, err := s.scopes.Create(ctx, req.Tenant, b.Name, scopes.Details{DisplayName: deref(b.DisplayName), Description: deref(b.Description),
		UserPolicyID: deref(b.UserPolicyId), DeveloperPolicyID: deref(b.DeveloperPolicyId)}, actor(ctx))
	if err != nil {
		return nil, err
	}
	return api.CreateScope201JSONResponse{Body: scopeOut(d), Headers: api.CreateScope201ResponseHeaders{ETag: precondition.ETag(d.Version)}}, nil
}

// GetScope returns one definition.
func (s *Server) GetScope(ctx context.Context, req api.GetScopeRequestObject) (api.GetScopeResponseObject, error) {
	d, err := s.scopes.Get(ctx, req.Tenant, req.ScopeId)
	if err != nil {
		return nil, err
	}
	return api.GetScope200JSONResponse{Body: scopeOut(d), Headers: api.GetScope200ResponseHeaders{ETag: precondition.ETag(d.Version)}}, nil
}

// UpdateScope replaces a definition's details, version-checked.
func (s *Server) UpdateScope(ctx context.Context, req api.UpdateScopeRequestObject) (api.UpdateScopeResponseObject, error) {
	b := req.Body
	pre, err := precondition.From(req.Body.Metadata, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	stated := scopes.Stated{Name: b.Name, BuiltIn: b.BuiltIn, CreatedBy: b.CreatedBy, UpdatedBy: b.UpdatedBy}
	if b.Metadata != nil {
		stated.CreatedAt, stated.ModifiedAt = b.Metadata.CreatedAt, b.Metadata.ModifiedAt
	}
	d, err := s.scopes.Update(ctx, req.Tenant, req.ScopeId, scopes.Details{DisplayName: deref(b.DisplayName), Description: deref(b.Description),
		UserPolicyID: deref(b.UserPolicyId), DeveloperPolicyID: deref(b.DeveloperPolicyId)}, stated, pre, actor(ctx))
	if err != nil {
		return nil, err
	}
	return api.UpdateScope200JSONResponse{Body: scopeOut(d), Headers: api.UpdateScope200ResponseHeaders{ETag: precondition.ETag(d.Version)}}, nil
}

// DeleteScope removes a definition (forceDelete: from its clients too).
func (s *Server) DeleteScope(ctx context.Context, req api.DeleteScopeRequestObject) (api.DeleteScopeResponseObject, error) {
	if err := s.scopes.Delete(ctx, req.Tenant, req.ScopeId, deref(req.Params.ForceDelete), actor(ctx)); err != nil {
		return nil, err
	}
	return api.DeleteScope204Response{}, nil
}
