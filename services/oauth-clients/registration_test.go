package oauthclients_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

func TestDynamicRegistration(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	s.mustScope(t, "acme", "billing.read")
	registrar := s.mustClient(t, "acme", "iam.client_register")
	initial := s.as(t, s.mustToken(t, "acme", registrar.ClientId, *registrar.ClientSecret, ""))
	bearer := func(token string) api.RequestEditorFn {
		return func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+token)
			return nil
		}
	}

	reg, err := initial.RegisterClientWithResponse(ctx, "acme", api.RegistrationRequest{ClientName: ptr("Billing agent"),
		GrantTypes: &[]string{"client_credentials"}, Scope: ptr("billing.read"), TokenEndpointAuthMethod: ptr("client_secret_basic"),
		AdditionalProperties: map[string]any{"software_id": "billing-agent"}})
	if err != nil || reg.JSON201 == nil {
		t.Fatalf("register: %v %d %s", err, reg.StatusCode(), reg.Body)
	}
	r := *reg.JSON201
	if r.ClientSecret == nil || r.RegistrationAccessToken == nil || r.ClientSecretExpiresAt != 0 || r.ClientIdIssuedAt == 0 ||
		r.RegistrationClientUri != issuerBase+"/v1/tenants/acme/oauth2/register/"+r.ClientId || deref(r.Scope) != "billing.read" ||
		reg.HTTPResponse.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("registration %+v", r)
	}
	s.mustToken(t, "acme", r.ClientId, *r.ClientSecret, "billing.read")
	// It belongs to the initial access token's subject.
	if got, _ := s.admin.GetClientWithResponse(ctx, "acme", r.ClientId); deref(got.JSON200.DeveloperId) != "client-"+registrar.ClientId {
		t.Errorf("developer of a registered client: %s", got.Body)
	}

	t.Run("RFC 7591 errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			in   api.RegistrationRequest
			code string
		}{
			{"a bad redirect URI", api.RegistrationRequest{GrantTypes: &[]string{"authorization_code"}, RedirectUris: &[]string{"http://evil.example/cb"}}, "invalid_redirect_uri"},
			{"an unsupported grant", api.RegistrationRequest{GrantTypes: &[]string{"password"}}, "invalid_client_metadata"},
			{"an unknown scope", api.RegistrationRequest{Scope: ptr("no.such")}, "invalid_client_metadata"},
			{"a platform scope", api.RegistrationRequest{Scope: ptr("services.iam")}, "invalid_client_metadata"},
			{"an unknown auth method", api.RegistrationRequest{TokenEndpointAuthMethod: ptr("tls_client_auth")}, "invalid_client_metadata"},
			// Go's decoder would read it as client_name; RFC 7591 members are case-sensitive.
			{"a case variant of a member", api.RegistrationRequest{AdditionalProperties: map[string]any{"Client_Name": "Sneaky"}}, "invalid_client_metadata"},
		} {
			resp, _ := initial.RegisterClientWithResponse(ctx, "acme", tc.in)
			if resp.JSON400 == nil || resp.JSON400.Error != tc.code || resp.JSON400.ErrorDescription == nil {
				t.Errorf("%s: %d %s", tc.name, resp.StatusCode(), resp.Body)
			}
		}
		resp, _ := initial.RegisterClientWithResponse(ctx, "acme", api.RegistrationRequest{AdditionalProperties: map[string]any{"Client_Name": "Sneaky"}})
		if resp.JSON400 == nil || !strings.Contains(deref(resp.JSON400.ErrorDescription), "body.Client_Name") {
			t.Errorf("the case variant is not named: %s", resp.Body)
		}
	})

	t.Run("the initial access token is required", func(t *testing.T) {
		if resp, _ := s.as(t, "").RegisterClientWithResponse(ctx, "acme", api.RegistrationRequest{}); resp.StatusCode() != 401 {
			t.Errorf("no token: %d", resp.StatusCode())
		}
		plain := s.mustClient(t, "acme", "iam.client_read")
		if resp, _ := s.as(t, s.mustToken(t, "acme", plain.ClientId, *plain.ClientSecret, "")).RegisterClientWithResponse(ctx, "acme", api.RegistrationRequest{}); resp.StatusCode() != 403 {
			t.Errorf("a token without iam.client_register: %d", resp.StatusCode())
		}
		if resp, _ := initial.RegisterClientWithResponse(ctx, "globex", api.RegistrationRequest{}); resp.StatusCode() != 403 {
			t.Errorf("tenant A's token on tenant B: %d", resp.StatusCode())
		}
	})

	rat := *r.RegistrationAccessToken
	t.Run("RFC 7592 read", func(t *testing.T) {
		got, _ := s.as(t, "").GetRegisteredClientWithResponse(ctx, "acme", r.ClientId, bearer(rat))
		if got.JSON200 == nil || got.JSON200.ClientSecret != nil || got.JSON200.RegistrationAccessToken != nil || got.JSON200.ClientName != "Billing agent" {
			t.Fatalf("%d %s", got.StatusCode(), got.Body)
		}
		for name, edit := range map[string]api.RequestEditorFn{"wrong token": bearer("rat_wrong"), "no token": func(context.Context, *http.Request) error { return nil },
			"an access token": bearer(s.mustToken(t, "system", adminID, adminSecret, ""))} {
			resp, _ := s.as(t, "").GetRegisteredClientWithResponse(ctx, "acme", r.ClientId, edit)
			if resp.JSON401 == nil || resp.JSON401.Error != "invalid_token" || !strings.Contains(resp.HTTPResponse.Header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("%s: %d %s", name, resp.StatusCode(), resp.Body)
			}
		}
		// Another client's token, even a valid one, opens only its own registration.
		other, _ := initial.RegisterClientWithResponse(ctx, "acme", api.RegistrationRequest{})
		if resp, _ := s.as(t, "").GetRegisteredClientWithResponse(ctx, "acme", r.ClientId, bearer(*other.JSON201.RegistrationAccessToken)); resp.StatusCode() != 401 {
			t.Errorf("another registration's token: %d", resp.StatusCode())
		}
	})

	t.Run("RFC 7592 update", func(t *testing.T) {
		upd, _ := s.as(t, "").UpdateRegisteredClientWithResponse(ctx, "acme", r.ClientId, api.RegistrationRequest{ClientId: &r.ClientId,
			ClientName: ptr("Billing agent v2"), Scope: ptr("billing.read"), TokenEndpointAuthMethod: ptr("client_secret_basic")}, bearer(rat))
		if upd.JSON200 == nil || upd.JSON200.ClientName != "Billing agent v2" {
			t.Fatalf("%d %s", upd.StatusCode(), upd.Body)
		}
		s.mustToken(t, "acme", r.ClientId, *r.ClientSecret, "billing.read") // the secret survives an update
		mismatch, _ := s.as(t, "").UpdateRegisteredClientWithResponse(ctx, "acme", r.ClientId, api.RegistrationRequest{ClientId: ptr("other")}, bearer(rat))
		if mismatch.JSON400 == nil || mismatch.JSON400.Error != "invalid_client_metadata" {
			t.Errorf("client_id mismatch: %d %s", mismatch.StatusCode(), mismatch.Body)
		}
		escalate, _ := s.as(t, "").UpdateRegisteredClientWithResponse(ctx, "acme", r.ClientId, api.RegistrationRequest{Scope: ptr("billing.read services.iam")}, bearer(rat))
		if escalate.JSON400 == nil || escalate.JSON400.Error != "invalid_client_metadata" {
			t.Errorf("adding a platform scope: %d %s", escalate.StatusCode(), escalate.Body)
		}
		if resp, _ := s.as(t, "").UpdateRegisteredClientWithResponse(ctx, "acme", r.ClientId, api.RegistrationRequest{}, bearer("rat_wrong")); resp.StatusCode() != 401 {
			t.Errorf("wrong token: %d", resp.StatusCode())
		}
	})

	t.Run("RFC 7592 delete", func(t *testing.T) {
		if resp, _ := s.as(t, "").DeleteRegisteredClientWithResponse(ctx, "acme", r.ClientId, bearer("rat_wrong")); resp.StatusCode() != 401 {
			t.Errorf("wrong token: %d", resp.StatusCode())
		}
		if resp, _ := s.as(t, "").DeleteRegisteredClientWithResponse(ctx, "acme", r.ClientId, bearer(rat)); resp.StatusCode() != 204 {
			t.Fatalf("delete: %d %s", resp.StatusCode(), resp.Body)
		}
		if resp, _ := s.as(t, "").GetRegisteredClientWithResponse(ctx, "acme", r.ClientId, bearer(rat)); resp.StatusCode() != 401 {
			t.Errorf("after delete: %d", resp.StatusCode())
		}
		if resp := s.tokenResponse(t, "acme", r.ClientId, *r.ClientSecret, ""); resp.StatusCode() != 401 {
			t.Errorf("a deleted registration still gets tokens: %d", resp.StatusCode())
		}
	})

	if logs := s.logs.String(); strings.Contains(logs, rat) || strings.Contains(logs, *r.ClientSecret) {
		t.Error("a registration access token or secret in the log")
	}
	var stored string
	_ = s.DB.Get(&stored, `SELECT registration_token_hash FROM clients WHERE registration_token_hash <> '' LIMIT 1`)
	if stored == "" || strings.Contains(stored, "rat_") {
		t.Errorf("registration token at rest: %q", stored)
	}
}
