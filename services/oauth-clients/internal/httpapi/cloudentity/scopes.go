package cloudentity

import (
	"context"

	"github.com/iamplane/iam/services/oauth-clients/api/cloudentity"
	"github.com/iamplane/iam/services/oauth-clients/internal/httpapi"
	"github.com/iamplane/iam/services/oauth-clients/internal/scopes"
)

// scopeDetails translates a Cloudentity scope; fields it has that the platform does not
// model (a service) are accepted only empty, and its tenant and server only as the path's.
func scopeDetails(in *cloudentity.ScopeInput, tenant string) (scopes.Details, error) {
	var bad checks
	bad.only("authorization_server_id", in.AuthorizationServerId, "default", tenant)
	bad.only("tenant_id", in.TenantId, tenant)
	if httpapi.Deref(in.ServiceId) != "" {
		bad.add("service_id", "services are not served here; only empty is accepted")
	}
	d := httpapi.Deref[string]
	return scopes.Details{DisplayName: d(in.DisplayName), Description: d(in.Description),
		UserPolicyID: d(in.UserPolicyId), DeveloperPolicyID: d(in.DeveloperPolicyId)}, bad.err()
}

func scopeOut(def *scopes.Definition, tenant string) cloudentity.Scope {
	return cloudentity.Scope{AuthorizationServerId: &tenant, Description: &def.Description, DeveloperPolicyId: &def.DeveloperPolicyID,
		DisplayName: &def.DisplayName, Id: def.ID, Name: def.Name, TenantId: &tenant, UserPolicyId: &def.UserPolicyID}
}

// CeCreateScope defines a scope, keeping a chosen id.
func (s *Server) CeCreateScope(ctx context.Context, req cloudentity.CeCreateScopeRequestObject) (cloudentity.CeCreateScopeResponseObject, error) {
	details, err := scopeDetails(req.Body, req.Tid)
	if err != nil {
		return nil, err
	}
	def, err := s.scopes.Import(ctx, req.Tid, httpapi.Deref(req.Body.Id), req.Body.Name, details, httpapi.Actor(ctx))
	if err != nil {
		return nil, renamed(err)
	}
	return cloudentity.CeCreateScope201JSONResponse(scopeOut(def, req.Tid)), nil
}

// CeGetScope returns a scope by id.
func (s *Server) CeGetScope(ctx context.Context, req cloudentity.CeGetScopeRequestObject) (cloudentity.CeGetScopeResponseObject, error) {
	def, err := s.scopes.GetByID(ctx, req.Tid, req.Scp)
	if err != nil {
		return nil, err
	}
	var out cloudentity.ScopeWithService
	remarshal(scopeOut(def, req.Tid), &out)
	no := false
	out.WithService = &no
	return cloudentity.CeGetScope200JSONResponse(out), nil
}

// CeUpdateScope replaces a scope's details; its id and name stay.
func (s *Server) CeUpdateScope(ctx context.Context, req cloudentity.CeUpdateScopeRequestObject) (cloudentity.CeUpdateScopeResponseObject, error) {
	var bad checks
	if id := httpapi.Deref(req.Body.Id); id != "" && id != req.Scp {
		bad.add("id", "is %q and cannot change", req.Scp)
	}
	details, err := scopeDetails(req.Body, req.Tid)
	if err == nil {
		err = bad.err()
	}
	if err != nil {
		return nil, err
	}
	def, err := s.scopes.ReviseByID(ctx, req.Tid, req.Scp, req.Body.Name, details, httpapi.Actor(ctx))
	if err != nil {
		return nil, renamed(err)
	}
	return cloudentity.CeUpdateScope200JSONResponse(scopeOut(def, req.Tid)), nil
}

// CeDeleteScope removes a scope no client lists.
func (s *Server) CeDeleteScope(ctx context.Context, req cloudentity.CeDeleteScopeRequestObject) (cloudentity.CeDeleteScopeResponseObject, error) {
	if err := s.scopes.DeleteByID(ctx, req.Tid, req.Scp, false, httpapi.Actor(ctx)); err != nil {
		return nil, err
	}
	return cloudentity.CeDeleteScope204Response{}, nil
}
