package oauthclients_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

// revoke calls /oauth2/revoke as client id with client_secret_basic.
func (s *stack) revoke(tb testing.TB, tenant, id, secret, token string) *api.RevokeTokenResponse {
	tb.Helper()
	resp, err := s.as(tb, "").RevokeTokenWithFormdataBodyWithResponse(context.Background(), tenant,
		api.RevokeTokenFormdataRequestBody{Token: &token, TokenTypeHint: ptr("access_token")}, func(_ context.Context, r *http.Request) error {
			r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			return nil
		})
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	c := s.mustClient(t, "acme", "iam.client_read")
	other := s.mustClient(t, "acme", "iam.client_read")
	token := s.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "")
	kept := s.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "")

	t.Run("only the client the token was issued to may revoke it", func(t *testing.T) {
		resp := s.revoke(t, "acme", other.ClientId, *other.ClientSecret, token)
		if resp.JSON400 == nil || resp.JSON400.Error != "unauthorized_client" {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
		if !introspect(t, s, "acme", other.ClientId, *other.ClientSecret, token).Active {
			t.Fatal("a refused revocation revoked the token")
		}
	})
	t.Run("client authentication is required", func(t *testing.T) {
		if resp := s.revoke(t, "acme", c.ClientId, "wrong-secret", token); resp.JSON401 == nil || resp.JSON401.Error != "invalid_client" {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
	})
	t.Run("a token is required", func(t *testing.T) {
		if resp := s.revoke(t, "acme", c.ClientId, *c.ClientSecret, ""); resp.JSON400 == nil || resp.JSON400.Error != "invalid_request" {
			t.Fatalf("%d %s", resp.StatusCode(), resp.Body)
		}
	})

	resp := s.revoke(t, "acme", c.ClientId, *c.ClientSecret, token)
	if resp.StatusCode() != 200 || len(resp.Body) != 0 {
		t.Fatalf("revoke: %d %s", resp.StatusCode(), resp.Body)
	}
	if introspect(t, s, "acme", other.ClientId, *other.ClientSecret, token).Active {
		t.Error("a revoked token introspects as active")
	}
	if !introspect(t, s, "acme", other.ClientId, *other.ClientSecret, kept).Active {
		t.Error("revoking one token revoked another")
	}
	// Revoking again, or revoking garbage or another tenant's token, is a quiet 200.
	globex := s.mustClient(t, "globex", "iam.client_read")
	for name, tok := range map[string]string{"again": token, "garbage": "not.a.token",
		"another tenant's": s.mustToken(t, "globex", globex.ClientId, *globex.ClientSecret, "")} {
		if resp := s.revoke(t, "acme", c.ClientId, *c.ClientSecret, tok); resp.StatusCode() != 200 {
			t.Errorf("revoke %s: %d %s", name, resp.StatusCode(), resp.Body)
		}
	}
	var n int
	if err := s.DB.Get(&n, `SELECT count(*) FROM revoked_tokens`); err != nil || n != 1 {
		t.Errorf("%d revocations stored, want 1: %v", n, err)
	}
}

// TestIntrospectionInactive covers every reason a token stops being active.
func TestIntrospectionInactive(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	caller := s.mustClient(t, "acme", "iam.client_read")
	ask := func(token string) api.Introspection {
		t.Helper()
		return introspect(t, s, "acme", caller.ClientId, *caller.ClientSecret, token)
	}
	c := s.mustClient(t, "acme", "iam.client_read")
	kid, key := s.signingKey(t)
	forge := func(mutate func(*auth.Claims)) string {
		now := time.Now()
		claims := auth.Claims{Issuer: auth.Issuer(issuerBase, "acme"), Subject: "client-" + c.ClientId, Audience: auth.Audience{"iam"},
			ExpiresAt: now.Add(time.Hour).Unix(), IssuedAt: now.Unix(), ID: "forged-" + now.Format(time.RFC3339Nano), Tenant: "acme",
			Scope: "iam.client_read", ClientID: c.ClientId}
		mutate(&claims)
		tok, err := auth.Sign(claims, kid, key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	live := s.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "")
	if got := ask(live); !got.Active || *got.ClientId != c.ClientId || *got.Scope != "iam.client_read" || *got.Jti == "" {
		t.Fatalf("a live token: %+v", got)
	}
	if !ask(forge(func(*auth.Claims) {})).Active {
		t.Fatal("the forging helper makes inactive tokens; the cases below would prove nothing")
	}
	for name, tok := range map[string]string{
		"expired":            forge(func(c *auth.Claims) { c.ExpiresAt = time.Now().Add(-time.Hour).Unix() }),
		"another tenant's":   forge(func(c *auth.Claims) { c.Tenant, c.Issuer = "globex", auth.Issuer(issuerBase, "globex") }),
		"not yet valid":      forge(func(c *auth.Claims) { c.NotBefore = time.Now().Add(time.Hour).Unix() }),
		"unknown client":     forge(func(c *auth.Claims) { c.ClientID = "nosuchclient" }),
		"wrong audience":     forge(func(c *auth.Claims) { c.Audience = auth.Audience{"other"} }),
		"tampered":           strings.Replace(live, ".", ".x", 1),
		"empty-ish, garbage": "x.y.z",
	} {
		if got := ask(tok); got.Active || got.Scope != nil || got.Sub != nil {
			t.Errorf("%s token: %+v", name, got)
		}
	}

	t.Run("revoked", func(t *testing.T) {
		tok := s.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "")
		if resp := s.revoke(t, "acme", c.ClientId, *c.ClientSecret, tok); resp.StatusCode() != 200 {
			t.Fatal(resp.StatusCode())
		}
		if ask(tok).Active {
			t.Error("active after revocation")
		}
	})

	t.Run("rotated away", func(t *testing.T) {
		tok := s.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "")
		first := header(tok)["kid"]
		if _, err := s.admin.RotateSigningKeyWithResponse(ctx, "system"); err != nil {
			t.Fatal(err)
		}
		if !ask(tok).Active {
			t.Fatal("a retired key's unexpired token must stay active while the key is published")
		}
		// The key leaves the JWKS (here by making its retirement older than a token lifetime)
		// and the next rotation reloads the ring: its tokens are no longer active.
		if _, err := s.DB.Exec(`UPDATE signing_keys SET retired_at = now() - interval '3 hours' WHERE kid = $1`, first); err != nil {
			t.Fatal(err)
		}
		if _, err := s.admin.RotateSigningKeyWithResponse(ctx, "system"); err != nil {
			t.Fatal(err)
		}
		jwks, _ := s.as(t, "").GetJWKSWithResponse(ctx, "acme")
		for _, k := range jwks.JSON200.Keys {
			if k.Kid == first {
				t.Fatal("the rotated-away key is still published")
			}
		}
		if ask(tok).Active {
			t.Error("a token of a key no longer published is active")
		}
		s.admin = s.as(t, s.mustToken(t, "system", adminID, adminSecret, "")) // its token went with the key
	})

	t.Run("deleted client", func(t *testing.T) {
		tok := s.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "")
		if del, err := s.admin.DeleteClientWithResponse(ctx, "acme", c.ClientId); err != nil || del.StatusCode() != 204 {
			t.Fatalf("delete: %v %d", err, del.StatusCode())
		}
		if ask(tok).Active {
			t.Error("active after its client was deleted")
		}
	})
}

// TestRevocationIsPublishedAndRefusedByTheAPI: a revocation is recorded with its event
// (subject iam.<tenant>.clients.revocation.<jti>, once however often it is repeated), and
// the token stops working on this service's own API too, not only at introspection.
func TestRevocationIsPublishedAndRefusedByTheAPI(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	c := s.mustClient(t, "acme", "iam.client_read")
	token := s.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "")
	if resp, err := s.as(t, token).ListClientsWithResponse(context.Background(), "acme", nil); err != nil || resp.StatusCode() != 200 {
		t.Fatalf("before the revocation: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	var claims auth.Claims
	if err := json.Unmarshal(mustPayload(t, token), &claims); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if resp := s.revoke(t, "acme", c.ClientId, *c.ClientSecret, token); resp.StatusCode() != 200 {
			t.Fatalf("revoke: %d %s", resp.StatusCode(), resp.Body)
		}
	}
	ev, _ := s.lastEvent(t, "iam.acme.clients.revocation."+claims.ID, func(events.Envelope) bool { return true })
	var st schema.TokenRevocationState
	if err := json.Unmarshal(ev.Data, &st); err != nil || ev.Type != "dev.iamplane.revocation.upserted.v1" ||
		st.Jti != claims.ID || st.ClientId != c.ClientId || st.Subject != "client-"+c.ClientId || st.Tenant != "acme" ||
		st.ExpiresAt.Unix() != claims.ExpiresAt {
		t.Fatalf("event %+v %+v: %v", ev, st, err)
	}
	var n int
	if err := s.DB.Get(&n, `SELECT count(*) FROM outbox WHERE subject = $1`, ev.Subject); err != nil || n != 1 {
		t.Errorf("%d revocation events recorded, want 1: %v", n, err)
	}
	eventually(t, "the revoked token refused by the API", func() bool {
		resp, err := s.as(t, token).ListClientsWithResponse(context.Background(), "acme", nil)
		return err == nil && resp.StatusCode() == 401 && strings.Contains(string(resp.Body), "revoked")
	})
}

func mustPayload(tb testing.TB, token string) []byte {
	tb.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}
