package oauthclients_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/auth"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

func TestTokenIssuance(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	c := s.mustClient(t, "acme", "iam.client_read", "iam.client_manage")
	secret := *c.ClientSecret

	t.Run("client_secret_basic grants every registered scope when none is requested", func(t *testing.T) {
		resp := s.tokenResponse(t, "acme", c.ClientId, secret, "")
		if resp.JSON200 == nil {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
		if got := *resp.JSON200.Scope; got != "iam.client_read iam.client_manage" {
			t.Errorf("scope %q", got)
		}
		if resp.HTTPResponse.Header.Get("Cache-Control") != "no-store" {
			t.Error("token response must not be cached")
		}
		claims := introspect(t, s, "acme", c.ClientId, secret, resp.JSON200.AccessToken)
		if !claims.Active || *claims.Sub != "client-"+c.ClientId || *claims.Tenant != "acme" || *claims.Iss != issuerBase+"/v1/tenants/acme" {
			t.Errorf("introspection %+v", claims)
		}
	})

	t.Run("the token names the secret it was issued for", func(t *testing.T) {
		list, err := s.admin.ListClientSecretsWithResponse(context.Background(), "acme", c.ClientId)
		if err != nil || list.JSON200 == nil || len(*list.JSON200) != 1 {
			t.Fatalf("%v %s", err, list.Body)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(s.mustToken(t, "acme", c.ClientId, secret, ""), ".")[1])
		var claims auth.Claims
		if err := json.Unmarshal(raw, &claims); err != nil || claims.SecretID != (*list.JSON200)[0].SecretId {
			t.Errorf("client_secret_id %q, want %q (%v)", claims.SecretID, (*list.JSON200)[0].SecretId, err)
		}
	})

	t.Run("client_secret_post narrows to the requested scopes", func(t *testing.T) {
		created, err := s.admin.CreateClientWithResponse(context.Background(), "acme", api.ClientInput{ClientName: "poster",
			Scopes: &[]string{"iam.client_read"}, TokenEndpointAuthMethod: ptr(api.ClientInputTokenEndpointAuthMethodClientSecretPost)})
		if err != nil || created.JSON201 == nil {
			t.Fatalf("%v %s", err, created.Body)
		}
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {created.JSON201.ClientId},
			"client_secret": {*created.JSON201.ClientSecret}, "scope": {"iam.client_read services.iam"}}
		resp := postToken(t, s, "acme", form)
		if resp.JSON200 == nil || *resp.JSON200.Scope != "iam.client_read" {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
		// A client registered for client_secret_post may not use Basic, and vice versa.
		if resp := s.tokenResponse(t, "acme", created.JSON201.ClientId, *created.JSON201.ClientSecret, ""); resp.StatusCode() != 401 {
			t.Errorf("basic accepted for a post client: %d", resp.StatusCode())
		}
		form.Set("client_id", c.ClientId)
		form.Set("client_secret", secret)
		if resp := postToken(t, s, "acme", form); resp.StatusCode() != 401 {
			t.Errorf("post accepted for a basic client: %d", resp.StatusCode())
		}
	})

	t.Run("the token works on the API of its tenant only", func(t *testing.T) {
		token := s.mustToken(t, "acme", c.ClientId, secret, "iam.client_read")
		own, err := s.as(t, token).ListClientsWithResponse(context.Background(), "acme", nil)
		if err != nil || own.JSON200 == nil {
			t.Fatalf("own tenant: %v %d %s", err, own.StatusCode(), own.Body)
		}
		other, err := s.as(t, token).ListClientsWithResponse(context.Background(), "globex", nil)
		if err != nil {
			t.Fatal(err)
		}
		if other.StatusCode() != http.StatusForbidden {
			t.Fatalf("other tenant: %d %s", other.StatusCode(), other.Body)
		}
		problemOf(t, other.HTTPResponse, other.Body)
	})

	t.Run("a scope the operation needs is missing", func(t *testing.T) {
		token := s.mustToken(t, "acme", c.ClientId, secret, "iam.client_read")
		resp, err := s.as(t, token).CreateClientWithResponse(context.Background(), "acme", api.ClientInput{ClientName: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != http.StatusForbidden {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
		if p := problemOf(t, resp.HTTPResponse, resp.Body); !strings.Contains(p["detail"].(string), "iam.client_manage") {
			t.Errorf("detail should name the missing scope: %v", p["detail"])
		}
	})
}

func TestTokenRejections(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	c := s.mustClient(t, "acme", "iam.client_read")
	secret := *c.ClientSecret
	// An expired secret: added with an expiry, then moved into the past in the database.
	expiring, err := s.admin.CreateClientSecretWithResponse(context.Background(), "acme", c.ClientId,
		api.ClientSecretInput{ExpiresAt: ptr(time.Now().Add(time.Hour))})
	if err != nil || expiring.JSON201 == nil {
		t.Fatalf("add secret: %v %s", err, expiring.Body)
	}
	if _, err := s.DB.Exec(`UPDATE client_secrets SET expires_at = now() - interval '1 second' WHERE id = $1`, expiring.JSON201.SecretId); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, tenant, id, secret, scope string
		status                          int
		oauthError                      string
	}{
		{"wrong secret", "acme", c.ClientId, "not-the-secret", "", 401, "invalid_client"},
		{"expired secret", "acme", c.ClientId, *expiring.JSON201.Value, "", 401, "invalid_client"},
		{"unknown client", "acme", "nosuchclient", secret, "", 401, "invalid_client"},
		{"wrong tenant", "globex", c.ClientId, secret, "", 401, "invalid_client"},
		{"scope not allowed", "acme", c.ClientId, secret, "services.iam", 400, "invalid_scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.tokenResponse(t, tc.tenant, tc.id, tc.secret, tc.scope)
			if resp.StatusCode() != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode(), tc.status, resp.Body)
			}
			body := resp.JSON400
			if body == nil {
				body = resp.JSON401
			}
			if body == nil || body.Error != tc.oauthError {
				t.Fatalf("error %s, want %s", resp.Body, tc.oauthError)
			}
		})
	}

	t.Run("unsupported grant and missing grant", func(t *testing.T) {
		for grant, want := range map[string]string{"password": "unsupported_grant_type", "": "invalid_request"} {
			resp := postToken(t, s, "acme", url.Values{"grant_type": {grant}, "client_id": {c.ClientId}, "client_secret": {secret}})
			if resp.JSON400 == nil || resp.JSON400.Error != want {
				t.Errorf("grant %q: %d %s", grant, resp.StatusCode(), resp.Body)
			}
		}
	})

	t.Run("two authentication methods at once", func(t *testing.T) {
		resp := postToken(t, s, "acme", url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientId}, "client_secret": {secret}},
			func(r *http.Request) { r.SetBasicAuth(c.ClientId, secret) })
		if resp.JSON400 == nil || resp.JSON400.Error != "invalid_request" {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
	})

	t.Run("a deleted secret stops working at once", func(t *testing.T) {
		added, err := s.admin.CreateClientSecretWithResponse(context.Background(), "acme", c.ClientId, api.ClientSecretInput{Value: ptr("chosen-secret-1")})
		if err != nil || added.JSON201 == nil {
			t.Fatalf("%v %s", err, added.Body)
		}
		s.mustToken(t, "acme", c.ClientId, "chosen-secret-1", "")
		s.mustToken(t, "acme", c.ClientId, secret, "") // the first secret stays live: rotation without downtime
		if _, err := s.admin.DeleteClientSecretWithResponse(context.Background(), "acme", c.ClientId, added.JSON201.SecretId); err != nil {
			t.Fatal(err)
		}
		if resp := s.tokenResponse(t, "acme", c.ClientId, "chosen-secret-1", ""); resp.StatusCode() != 401 {
			t.Fatalf("deleted secret still works: %d", resp.StatusCode())
		}
	})
}

func TestJWTVerification(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	kid, key := s.signingKey(t)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	sign := func(mutate func(*auth.Claims)) string {
		c := validClaims()
		mutate(&c)
		tok, err := auth.Sign(c, kid, key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(func(*auth.Claims) {})
	forged, _ := auth.Sign(validClaims(), kid, otherKey)
	parts := strings.Split(good, ".")

	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"valid", good, 200},
		{"no token", "", 401},
		{"bad signature", forged, 401},
		{"alg none", rawJWT(map[string]string{"alg": "none", "typ": "at+jwt", "kid": kid}, validClaims(), nil), 401},
		{"alg HS256", rawJWT(map[string]string{"alg": "HS256", "typ": "at+jwt", "kid": kid}, validClaims(), []byte("x")), 401},
		{"not an access token typ", rawJWT(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": kid}, validClaims(), []byte("x")), 401},
		{"unknown kid", rawJWT(map[string]string{"alg": "EdDSA", "typ": "at+jwt", "kid": "nope"}, validClaims(), []byte("x")), 401},
		{"tampered claims", parts[0] + "." + strings.Split(sign(func(c *auth.Claims) { c.Scope = "services.iam extra" }), ".")[1] + "." + parts[2], 401},
		{"expired", sign(func(c *auth.Claims) { c.ExpiresAt = time.Now().Add(-time.Hour).Unix() }), 401},
		{"not yet valid", sign(func(c *auth.Claims) { c.NotBefore = time.Now().Add(time.Hour).Unix() }), 401},
		{"wrong issuer", sign(func(c *auth.Claims) { c.Issuer = "http://evil.test/v1/tenants/system" }), 401},
		{"issuer of another tenant", sign(func(c *auth.Claims) { c.Issuer = issuerBase + "/v1/tenants/acme" }), 401},
		{"wrong audience", sign(func(c *auth.Claims) { c.Audience = auth.Audience{"other"} }), 401},
		{"oversized", "a" + strings.Repeat("b", 9000) + ".c.d", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := s.as(t, tc.token).ListClientsWithResponse(context.Background(), "acme", nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode(), tc.status, resp.Body)
			}
			if tc.status == 401 {
				problemOf(t, resp.HTTPResponse, resp.Body)
				if resp.HTTPResponse.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
		})
	}
}

func TestKeyRotationKeepsUnexpiredTokensValid(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	before := s.mustToken(t, "system", adminID, adminSecret, "")
	jwks := func() []api.JWK {
		resp, err := s.as(t, "").GetJWKSWithResponse(context.Background(), "acme")
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("jwks: %v", err)
		}
		return resp.JSON200.Keys
	}
	if n := len(jwks()); n != 1 {
		t.Fatalf("%d keys before rotation", n)
	}
	rotated, err := s.as(t, before).RotateSigningKeyWithResponse(context.Background(), "system")
	if err != nil || rotated.JSON200 == nil {
		t.Fatalf("rotate: %v %s", err, rotated.Body)
	}
	if n := len(jwks()); n != 2 {
		t.Fatalf("%d keys after rotation, want old and new", n)
	}
	after := s.mustToken(t, "system", adminID, adminSecret, "")
	if header(after)["kid"] != rotated.JSON200.Kid {
		t.Errorf("new tokens are not signed with the new key")
	}
	for name, tok := range map[string]string{"before": before, "after": after} {
		resp, err := s.as(t, tok).ListClientsWithResponse(context.Background(), "acme", nil)
		if err != nil || resp.StatusCode() != 200 {
			t.Errorf("token from %s rotation: %d %s", name, resp.StatusCode(), resp.Body)
		}
	}
	// Only a platform admin may rotate.
	c := s.mustClient(t, "acme", "services.iam")
	tenantAdmin := s.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "")
	if resp, _ := s.as(t, tenantAdmin).RotateSigningKeyWithResponse(context.Background(), "acme"); resp.StatusCode() != 403 {
		t.Errorf("tenant admin rotated keys: %d", resp.StatusCode())
	}
}

func TestDiscoveryAndIntrospection(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	meta, err := s.as(t, "").GetServerMetadataWithResponse(context.Background(), "acme")
	if err != nil || meta.JSON200 == nil {
		t.Fatalf("metadata: %v", err)
	}
	m := meta.JSON200
	if m.Issuer != issuerBase+"/v1/tenants/acme" || m.TokenEndpoint != issuerBase+"/v1/tenants/acme/oauth2/token" ||
		deref(m.RevocationEndpoint) != m.Issuer+"/oauth2/revoke" || deref(m.RegistrationEndpoint) != m.Issuer+"/oauth2/register" ||
		!slices.Contains(m.TokenEndpointAuthMethodsSupported, "private_key_jwt") || m.TokenEndpointAuthSigningAlgValuesSupported == nil ||
		!slices.Contains(deref(m.ScopesSupported), "iam.client_register") {
		t.Errorf("metadata %+v", m)
	}
	c := s.mustClient(t, "acme", "iam.client_read")
	other := s.mustClient(t, "globex", "iam.client_read")
	acmeToken := s.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "")
	if got := introspect(t, s, "globex", other.ClientId, *other.ClientSecret, acmeToken); got.Active {
		t.Error("another tenant's token introspects as active")
	}
	if got := introspect(t, s, "acme", c.ClientId, *c.ClientSecret, "garbage"); got.Active {
		t.Error("garbage introspects as active")
	}
	if _, err := s.admin.DeleteClientWithResponse(context.Background(), "acme", c.ClientId); err != nil {
		t.Fatal(err)
	}
	other2 := s.mustClient(t, "acme", "iam.client_read")
	if got := introspect(t, s, "acme", other2.ClientId, *other2.ClientSecret, acmeToken); got.Active {
		t.Error("token of a deleted client introspects as active")
	}
}

func introspect(t *testing.T, s *stack, tenant, id, secret, token string) api.Introspection {
	t.Helper()
	resp, err := s.as(t, "").IntrospectTokenWithFormdataBodyWithResponse(context.Background(), tenant,
		api.IntrospectTokenFormdataRequestBody{Token: &token}, func(_ context.Context, r *http.Request) error {
			r.SetBasicAuth(id, secret)
			return nil
		})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("introspect: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

func postToken(t *testing.T, s *stack, tenant string, form url.Values, edit ...func(*http.Request)) *api.IssueTokenResponse {
	t.Helper()
	resp, err := s.as(t, "").IssueTokenWithBodyWithResponse(context.Background(), tenant, "application/x-www-form-urlencoded",
		strings.NewReader(form.Encode()), func(_ context.Context, r *http.Request) error {
			for _, e := range edit {
				e(r)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
