package oauthclients_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

// signedJWT signs claims with an Ed25519 key, as a client signs its assertion.
func signedJWT(kid string, key ed25519.PrivateKey, claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": kid})
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	return input + "." + enc.EncodeToString(ed25519.Sign(key, []byte(input)))
}

func TestPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	// Many assertions of one client are refused here, from one address: more than the
	// brute-force limits (TestBruteForceLimits) let a pair fail before it must wait.
	s := mustStart(t, map[string]string{"IAM_AUTH_FAILURES_PER_PAIR": "100"})
	ctx := context.Background()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	method := api.ClientInputTokenEndpointAuthMethodPrivateKeyJwt
	created, err := s.admin.CreateClientWithResponse(ctx, "acme", api.ClientInput{ClientName: "signer", Scopes: &[]string{"iam.client_read"},
		TokenEndpointAuthMethod: &method, Jwks: &api.ClientJWKSet{Keys: []map[string]any{ed25519JWK("k1", pub, nil)}}})
	if err != nil || created.JSON201 == nil {
		t.Fatalf("%v %s", err, created.Body)
	}
	id := created.JSON201.ClientId
	tokenURL := issuerBase + "/v1/tenants/acme/oauth2/token"
	n := 0
	claims := func(mutate func(map[string]any)) map[string]any {
		n++
		c := map[string]any{"iss": id, "sub": id, "aud": tokenURL, "exp": time.Now().Add(time.Minute).Unix(),
			"iat": time.Now().Unix(), "jti": "assertion-" + time.Now().Format(time.RFC3339Nano) + "-" + string(rune('a'+n))}
		mutate(c)
		return c
	}
	form := func(assertion string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion": {assertion}}
	}

	good := signedJWT("k1", key, claims(func(map[string]any) {}))
	resp := postToken(t, s, "acme", form(good))
	if resp.JSON200 == nil {
		t.Fatalf("a valid assertion: %d %s", resp.StatusCode(), resp.Body)
	}

	for _, tc := range []struct {
		name   string
		form   url.Values
		edit   func(*http.Request)
		status int
		error  string
	}{
		{"replayed", form(good), nil, 401, "invalid_client"},
		{"another audience", form(signedJWT("k1", key, claims(func(c map[string]any) { c["aud"] = "https://elsewhere.example/token" }))), nil, 401, "invalid_client"},
		{"expired", form(signedJWT("k1", key, claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))), nil, 401, "invalid_client"},
		{"lives too long", form(signedJWT("k1", key, claims(func(c map[string]any) { c["exp"] = time.Now().Add(48 * time.Hour).Unix() }))), nil, 401, "invalid_client"},
		{"no jti", form(signedJWT("k1", key, claims(func(c map[string]any) { delete(c, "jti") }))), nil, 401, "invalid_client"},
		{"iss is not sub", form(signedJWT("k1", key, claims(func(c map[string]any) { c["iss"] = "someone-else" }))), nil, 401, "invalid_client"},
		{"signed by another key", form(signedJWT("k1", otherKey, claims(func(map[string]any) {}))), nil, 401, "invalid_client"},
		{"alg none", form(rawJWT(map[string]string{"alg": "none", "kid": "k1"}, claims(func(map[string]any) {}), nil)), nil, 401, "invalid_client"},
		{"garbage", form("not-a-jwt"), nil, 401, "invalid_client"},
		{"client_id disagrees", func() url.Values {
			f := form(signedJWT("k1", key, claims(func(map[string]any) {})))
			f.Set("client_id", "someone-else")
			return f
		}(), nil, 401, "invalid_client"},
		{"unknown assertion type", func() url.Values {
			f := form(signedJWT("k1", key, claims(func(map[string]any) {})))
			f.Set("client_assertion_type", "urn:example:saml")
			return f
		}(), nil, 400, "invalid_request"},
		{"assertion and Basic", form(signedJWT("k1", key, claims(func(map[string]any) {}))), func(r *http.Request) { r.SetBasicAuth(id, "x") }, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var edits []func(*http.Request)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			resp := postToken(t, s, "acme", tc.form, edits...)
			body := resp.JSON400
			if body == nil {
				body = resp.JSON401
			}
			if resp.StatusCode() != tc.status || body == nil || body.Error != tc.error {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode(), resp.Body, tc.status, tc.error)
			}
		})
	}

	t.Run("a secret-based client cannot use an assertion", func(t *testing.T) {
		c := s.mustClient(t, "acme", "iam.client_read")
		a := signedJWT("k1", key, map[string]any{"iss": c.ClientId, "sub": c.ClientId, "aud": tokenURL, "exp": time.Now().Add(time.Minute).Unix(), "jti": "x1"})
		if resp := postToken(t, s, "acme", form(a)); resp.StatusCode() != 401 {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
	})

	t.Run("introspection and revocation take assertions too", func(t *testing.T) {
		token := resp.JSON200.AccessToken
		assertion := signedJWT("k1", key, claims(func(c map[string]any) { c["aud"] = issuerBase + "/v1/tenants/acme/oauth2/introspect" }))
		in, err := s.as(t, "").IntrospectTokenWithFormdataBodyWithResponse(ctx, "acme", api.IntrospectTokenFormdataRequestBody{Token: &token,
			ClientAssertionType: ptr("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ClientAssertion: &assertion})
		if err != nil || in.JSON200 == nil || !in.JSON200.Active {
			t.Fatalf("introspect: %v %s", err, in.Body)
		}
		assertion = signedJWT("k1", key, claims(func(map[string]any) {}))
		rv, err := s.as(t, "").RevokeTokenWithFormdataBodyWithResponse(ctx, "acme", api.RevokeTokenFormdataRequestBody{Token: &token,
			ClientAssertionType: ptr("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ClientAssertion: &assertion})
		if err != nil || rv.StatusCode() != 200 {
			t.Fatalf("revoke: %v %d %s", err, rv.StatusCode(), rv.Body)
		}
	})

	if logs := s.logs.String(); strings.Contains(logs, good) || !strings.Contains(logs, "already used") {
		t.Error("the log shows an assertion, or not why the replay was refused")
	}
}

// A jwksUri naming what only the server can reach (cloud metadata, loopback, a private
// network, plain http) is refused at registration, naming the field; the server never
// connects there.
func TestJWKSURIMustBePublic(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	method := api.ClientInputTokenEndpointAuthMethodPrivateKeyJwt
	for _, uri := range []string{
		"https://169.254.169.254/latest/meta-data", "https://127.0.0.1:8443/jwks", "https://localhost/jwks",
		"https://10.0.0.5/jwks", "https://[::1]/jwks", "http://keys.example.com/jwks",
	} {
		resp, err := s.admin.CreateClientWithResponse(ctx, "acme", api.ClientInput{ClientName: "ssrf",
			TokenEndpointAuthMethod: &method, JwksUri: &uri})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != 422 || !strings.Contains(string(resp.Body), "jwksUri") {
			t.Errorf("%s: %d %s", uri, resp.StatusCode(), resp.Body)
		}
	}
	public := "https://keys.example.com/jwks"
	if resp, _ := s.admin.CreateClientWithResponse(ctx, "acme", api.ClientInput{ClientName: "fine",
		TokenEndpointAuthMethod: &method, JwksUri: &public}); resp.StatusCode() != 201 {
		t.Errorf("a public jwksUri: %d %s", resp.StatusCode(), resp.Body)
	}
}
