package main

import (
	"context"
	"net/http"

	"github.com/iamplane/iam/tools/benchkit"
)

// getClient measures getting one client: natively, and in the Identity Service, Aritma v0
// and Cloudentity dialects (oauth-clients). The caller is a tenant admin, since two of
// the dialects take the tenant from the token.
func getClient(_ context.Context, base, systemToken string) (string, []variant, error) {
	const tenant = "bench"
	hc := http.DefaultClient
	adminID, adminSecret, err := benchkit.CreateClient(hc, base, systemToken, tenant, "bench admin", "services.iam")
	if err != nil {
		return "", nil, err
	}
	bearer, err := benchkit.Token(base, tenant, adminID, adminSecret)
	if err != nil {
		return "", nil, err
	}
	id, _, err := benchkit.CreateClient(hc, base, bearer, tenant, "measured")
	if err != nil {
		return "", nil, err
	}
	return bearer, []variant{
		{"native", "/v1/tenants/" + tenant + "/clients/" + id},
		{"identityservice", "/clients/" + id},
		{"aritma-v0", "/core/iam/clients/" + id},
		{"cloudentity", "/api/admin/" + tenant + "/clients/" + id},
	}, nil
}
