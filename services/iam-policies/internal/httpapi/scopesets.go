package httpapi

import (
	"context"
	"strings"

	"github.com/iamplane/iam/services/iam-policies/api"
)

// GetEffectiveScopes is the subject's entitled scopes in the Emporix form: one
// space-separated string.
func (s *Server) GetEffectiveScopes(ctx context.Context, req api.GetEffectiveScopesRequestObject) (api.GetEffectiveScopesResponseObject, error) {
	subject, err := subjectOf(ctx, req.SubjectId)
	if err != nil {
		return nil, err
	}
	scopes, err := s.policies.EffectiveScopes(ctx, req.Tenant, subject)
	if err != nil {
		return nil, err
	}
	return api.GetEffectiveScopes200JSONResponse{SubjectId: subject, Scopes: strings.Join(scopes, " ")}, nil
}
