package oauthclients_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/iamplane/iam/pkg/apicommon"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

// ed25519JWK is a public JWK (and, with private set, the private one as well).
func ed25519JWK(kid string, pub ed25519.PublicKey, priv ed25519.PrivateKey) map[string]any {
	k := map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": base64.RawURLEncoding.EncodeToString(pub)}
	if priv != nil {
		k["d"] = base64.RawURLEncoding.EncodeToString(priv.Seed())
	}
	return k
}

func TestClientMetadataRules(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	s.mustScope(t, "acme", "billing.read")
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	publicSet := &api.ClientJWKSet{Keys: []map[string]any{ed25519JWK("k1", pub, nil)}}
	method := func(m api.ClientInputTokenEndpointAuthMethod) *api.ClientInputTokenEndpointAuthMethod { return &m }
	grants := func(g ...api.ClientInputGrantTypes) *[]api.ClientInputGrantTypes { return &g }
	purposes := func(scope, purpose string) *api.Privacy {
		return &api.Privacy{Scopes: &map[string]api.PrivacyPurpose{scope: {Purpose: purpose}}}
	}

	for _, tc := range []struct {
		name  string
		in    api.ClientInput
		field string
	}{
		{"private_key_jwt without keys", api.ClientInput{TokenEndpointAuthMethod: method(api.ClientInputTokenEndpointAuthMethodPrivateKeyJwt)}, "jwks"},
		{"jwks and jwksUri", api.ClientInput{TokenEndpointAuthMethod: method(api.ClientInputTokenEndpointAuthMethodPrivateKeyJwt), Jwks: publicSet, JwksUri: ptr("https://a.example/jwks")}, "jwksUri"},
		{"a private key in jwks", api.ClientInput{TokenEndpointAuthMethod: method(api.ClientInputTokenEndpointAuthMethodPrivateKeyJwt), Jwks: &api.ClientJWKSet{Keys: []map[string]any{ed25519JWK("k1", pub, priv)}}}, "private key"},
		{"not a key", api.ClientInput{TokenEndpointAuthMethod: method(api.ClientInputTokenEndpointAuthMethodPrivateKeyJwt), Jwks: &api.ClientJWKSet{Keys: []map[string]any{{"kty": "nope"}}}}, "jwks"},
		{"plain http jwksUri", api.ClientInput{TokenEndpointAuthMethod: method(api.ClientInputTokenEndpointAuthMethodPrivateKeyJwt), JwksUri: ptr("http://a.example/jwks")}, "jwksUri"},
		{"refresh tokens for client_credentials", api.ClientInput{GrantTypes: grants(api.ClientCredentials, api.RefreshToken)}, "grantTypes"},
		{"code without its grant", api.ClientInput{ResponseTypes: &[]api.ClientInputResponseTypes{api.ClientInputResponseTypesCode}}, "responseTypes"},
		{"implicit response type", api.ClientInput{GrantTypes: grants(api.AuthorizationCode), RedirectUris: &[]string{"https://a.example/cb"}, ResponseTypes: &[]api.ClientInputResponseTypes{api.ClientInputResponseTypesCode, api.ClientInputResponseTypesToken}}, "responseTypes"},
		{"purpose for an unlisted scope", api.ClientInput{Scopes: &[]string{"billing.read"}, Privacy: purposes("iam.client_read", "x")}, "privacy.scopes.iam.client_read"},
		{"blank purpose", api.ClientInput{Scopes: &[]string{"billing.read"}, Privacy: purposes("billing.read", " ")}, "purpose"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.ClientName = "x"
			resp, err := s.admin.CreateClientWithResponse(ctx, "acme", tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != 422 && resp.StatusCode() != 400 {
				t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
			}
			if !strings.Contains(string(resp.Body), tc.field) {
				t.Errorf("the refusal does not name %q: %s", tc.field, resp.Body)
			}
		})
	}

	t.Run("full metadata round-trips", func(t *testing.T) {
		created, err := s.admin.CreateClientWithResponse(ctx, "acme", api.ClientInput{ClientName: "web", Scopes: &[]string{"billing.read"},
			GrantTypes: grants(api.AuthorizationCode, api.RefreshToken), RedirectUris: &[]string{"https://app.example/cb", "http://127.0.0.1:7000/cb"},
			TokenEndpointAuthMethod: method(api.ClientInputTokenEndpointAuthMethodPrivateKeyJwt), Jwks: publicSet,
			Privacy: &api.Privacy{Scopes: &map[string]api.PrivacyPurpose{"billing.read": {Purpose: "Show invoices.",
				PiiCategories: &[]struct {
					Name string `json:"name"`
				}{{Name: "contact"}}}}}})
		if err != nil || created.JSON201 == nil {
			t.Fatalf("%v %s", err, created.Body)
		}
		c := *created.JSON201
		if c.ClientSecret != nil {
			t.Error("a private_key_jwt client got a secret")
		}
		got, _ := s.admin.GetClientWithResponse(ctx, "acme", c.ClientId)
		g := got.JSON200
		if g == nil || len(g.ResponseTypes) != 1 || g.ResponseTypes[0] != "code" || g.Jwks == nil || len(g.Jwks.Keys) != 1 ||
			g.Privacy == nil || (*g.Privacy.Scopes)["billing.read"].Purpose != "Show invoices." {
			t.Fatalf("read back: %s", got.Body)
		}
		raw, _ := json.Marshal(g.Jwks)
		if strings.Contains(string(raw), `"d"`) {
			t.Error("a private member in the stored key set")
		}
		// A forced deletion of the scope takes its privacy purpose along.
		if del, _ := s.admin.DeleteScopeWithResponse(ctx, "acme", "billing.read", &api.DeleteScopeParams{ForceDelete: ptr(true)}); del.StatusCode() != 204 {
			t.Fatal(del.StatusCode())
		}
		got, _ = s.admin.GetClientWithResponse(ctx, "acme", c.ClientId)
		if got.JSON200.Privacy != nil {
			t.Errorf("privacy purpose of a deleted scope kept: %s", got.Body)
		}
	})
}

// TestMetadataListBounds: a client's lists are bounded (the audience goes into every
// token it gets), 422 naming the field.
func TestMetadataListBounds(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	audience := func(n int) *[]string {
		aud := make([]string, n)
		for i := range aud {
			aud[i] = fmt.Sprintf("https://api-%03d.example/%s", i, strings.Repeat("a", 150))
		}
		return &aud
	}
	resp, err := s.admin.CreateClientWithResponse(ctx, "acme", api.ClientInput{ClientName: "many audiences", Audience: audience(21)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 422 || !strings.Contains(string(resp.Body), `"audience"`) {
		t.Errorf("21 audiences: %d %s", resp.StatusCode(), resp.Body)
	}
	ok, err := s.admin.CreateClientWithResponse(ctx, "acme", api.ClientInput{ClientName: "enough audiences", Audience: audience(20)})
	if err != nil || ok.JSON201 == nil {
		t.Fatalf("20 audiences: %v %s", err, ok.Body)
	}
	// An update is held to the same bound.
	c := *ok.JSON201
	upd, err := s.admin.UpdateClientWithResponse(ctx, "acme", c.ClientId, nil, api.ClientInput{ClientName: "more audiences",
		Audience: audience(1000), Metadata: &apicommon.Metadata{Version: c.Metadata.Version}})
	if err != nil {
		t.Fatal(err)
	}
	if upd.StatusCode() != 422 || !strings.Contains(string(upd.Body), `"audience"`) {
		t.Errorf("1000 audiences in an update: %d %s", upd.StatusCode(), upd.Body)
	}
}
