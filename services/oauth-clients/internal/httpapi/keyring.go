package httpapi

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

// GetJWKS publishes the verification keys.
func (s *Server) GetJWKS(ctx context.Context, _ api.GetJWKSRequestObject) (api.GetJWKSResponseObject, error) {
	keys, err := s.keys.JWKS(ctx)
	if err != nil {
		return nil, err
	}
	out := api.GetJWKS200JSONResponse{Keys: make([]api.JWK, 0, len(keys))}
	for _, k := range keys {
		jk, err := toJWK(k)
		if err != nil {
			return nil, err
		}
		out.Keys = append(out.Keys, jk)
	}
	sort.Slice(out.Keys, func(i, j int) bool { return out.Keys[i].Kid < out.Keys[j].Kid })
	return out, nil
}

func toJWK(k any) (api.JWK, error) {
	raw, err := json.Marshal(k)
	if err != nil {
		return api.JWK{}, err
	}
	var out api.JWK
	return out, json.Unmarshal(raw, &out)
}

// RotateSigningKey starts signing with a new key; platform admins only.
func (s *Server) RotateSigningKey(ctx context.Context, _ api.RotateSigningKeyRequestObject) (api.RotateSigningKeyResponseObject, error) {
	key, err := s.keys.Rotate(ctx)
	if err != nil {
		return nil, err
	}
	jk, err := toJWK(key)
	if err != nil {
		return nil, err
	}
	return api.RotateSigningKey200JSONResponse(jk), nil
}
