package consent_test

import (
	"net/http"
	"testing"
)

// BenchmarkCloudentityOverhead reads and lists the same consent through the native API
// and through Cloudentity's dialect, side by side in one run (issue 16: a dialect costs
// at most 10 % over the native call). go test -run '^$' -bench CloudentityOverhead ./services/consent/
func BenchmarkCloudentityOverhead(b *testing.B) {
	s := mustStart(b)
	token := s.Issuer.Token(b, "acme", "client-acme-caller", "services.iam")
	if status, got := do(b, http.MethodPost, s.URL+"/api/admin/acme/consents", token, map[string]any{
		"id": "bench", "name": "bench", "update_existing_grants": "explicitAll",
		"internal_services": []any{map[string]any{"name": "app", "purposes": []any{map[string]any{"name": "core", "primary": true}}}},
		"pii_categories":    []any{map[string]any{"name": "email"}},
	}); status != http.StatusCreated {
		b.Fatalf("create: %d %v", status, got)
	}
	for _, tc := range []struct{ name, url string }{
		{"get/native", s.URL + "/v1/tenants/acme/consents/bench"},
		{"get/cloudentity", s.URL + "/api/admin/acme/consents/bench"},
		{"list/native", s.URL + "/v1/tenants/acme/consents"},
		{"list/cloudentity", s.URL + "/api/admin/acme/consents"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if status, got := do(b, http.MethodGet, tc.url, token, nil); status != http.StatusOK {
					b.Fatalf("%d %v", status, got)
				}
			}
		})
	}
}
