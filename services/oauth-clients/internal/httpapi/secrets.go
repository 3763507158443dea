package httpapi

import (
	"context"

	"github.com/iamplane/iam/services/oauth-clients/api"
	"github.com/iamplane/iam/services/oauth-clients/internal/clients"
)

func secretOut(sec *clients.Secret) api.ClientSecret {
	out := api.ClientSecret{SecretId: sec.ID, CreatedAt: sec.CreatedAt, ExpiresAt: sec.ExpiresAt,
		Hint: optional(sec.Hint), Description: optional(sec.Description)}
	if sec.Value != "" {
		out.Value = &sec.Value
	}
	return out
}

// ListClientSecrets lists secrets without values.
func (s *Server) ListClientSecrets(ctx context.Context, req api.ListClientSecretsRequestObject) (api.ListClientSecretsResponseObject, error) {
	secrets, err := s.clients.Secrets(ctx, req.Tenant, req.ClientId)
	if err != nil {
		return nil, err
	}
	out := make(api.ListClientSecrets200JSONResponse, len(secrets))
	for i := range secrets {
		out[i] = secretOut(&secrets[i])
	}
	return out, nil
}

// CreateClientSecret adds a secret and shows its value once.
func (s *Server) CreateClientSecret(ctx context.Context, req api.CreateClientSecretRequestObject) (api.CreateClientSecretResponseObject, error) {
	sec, err := s.clients.AddSecret(ctx, req.Tenant, req.ClientId, deref(req.Body.Value), deref(req.Body.Description), req.Body.ExpiresAt)
	if err != nil {
		return nil, err
	}
	return api.CreateClientSecret201JSONResponse(secretOut(sec)), nil
}

// DeleteClientSecret revokes a secret.
func (s *Server) DeleteClientSecret(ctx context.Context, req api.DeleteClientSecretRequestObject) (api.DeleteClientSecretResponseObject, error) {
	if err := s.clients.DeleteSecret(ctx, req.Tenant, req.ClientId, req.SecretId); err != nil {
		return nil, err
	}
	return api.DeleteClientSecret204Response{}, nil
}
