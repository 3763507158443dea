package oauthclients_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

// TestTokenErrorCodes walks every RFC 6749 §5.2 error the token endpoint can answer.
func TestTokenErrorCodes(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	cc := s.mustClient(t, "acme", "iam.client_read")
	created, err := s.admin.CreateClientWithResponse(context.Background(), "acme", api.ClientInput{ClientName: "web app",
		GrantTypes:   &[]api.ClientInputGrantTypes{api.AuthorizationCode, api.RefreshToken},
		RedirectUris: &[]string{"https://app.example/cb"}, Scopes: &[]string{"iam.client_read"}})
	if err != nil || created.JSON201 == nil {
		t.Fatalf("create: %v %s", err, created.Body)
	}
	web := *created.JSON201
	basic := func(c api.Client) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(c.ClientId, *c.ClientSecret) }
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		auth   func(*http.Request)
		status int
		error  string
	}{
		{"no grant_type", url.Values{}, basic(cc), 400, "invalid_request"},
		{"password grant", url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, basic(cc), 400, "unsupported_grant_type"},
		{"authorization_code without redirect_uri", url.Values{"grant_type": {"authorization_code"}, "code": {"c"}}, basic(web), 400, "invalid_request"},
		{"authorization_code never issued", url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "redirect_uri": {"https://app.example/cb"},
			"code_verifier": {strings.Repeat("v", 43)}}, basic(web), 400, "invalid_grant"},
		{"authorization_code for a client without that grant", url.Values{"grant_type": {"authorization_code"}, "code": {"c"}}, basic(cc), 400, "unauthorized_client"},
		{"no client authentication", url.Values{"grant_type": {"client_credentials"}}, func(*http.Request) {}, 401, "invalid_client"},
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}}, func(r *http.Request) { r.SetBasicAuth(cc.ClientId, "wrong") }, 401, "invalid_client"},
		{"client_credentials for a client without that grant", url.Values{"grant_type": {"client_credentials"}}, basic(web), 400, "unauthorized_client"},
		{"refresh_token for a client without that grant", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}}, basic(cc), 400, "unauthorized_client"},
		{"refresh_token missing", url.Values{"grant_type": {"refresh_token"}}, basic(web), 400, "invalid_request"},
		{"refresh_token never issued", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"made-up"}}, basic(web), 400, "invalid_grant"},
		{"scope not allowed", url.Values{"grant_type": {"client_credentials"}, "scope": {"services.iam"}}, basic(cc), 400, "invalid_scope"},
		{"scope not even defined", url.Values{"grant_type": {"client_credentials"}, "scope": {"no.such.scope"}}, basic(cc), 400, "invalid_scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := postToken(t, s, "acme", tc.form, tc.auth)
			if resp.StatusCode() != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode(), tc.status, resp.Body)
			}
			body := resp.JSON400
			if body == nil {
				body = resp.JSON401
			}
			if body == nil || body.Error != tc.error || body.ErrorDescription == nil {
				t.Fatalf("error %s, want %s", resp.Body, tc.error)
			}
			if ct := resp.HTTPResponse.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q: RFC 6749 errors are application/json", ct)
			}
			if tc.status == 401 && resp.HTTPResponse.Header.Get("WWW-Authenticate") == "" {
				t.Error("invalid_client without WWW-Authenticate")
			}
		})
	}
}
