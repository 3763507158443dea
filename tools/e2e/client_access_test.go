package e2e

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"github.com/iamplane/iam/pkg/auth"

	consentapi "github.com/iamplane/iam/services/consent/api"
	clientsapi "github.com/iamplane/iam/services/oauth-clients/api"
)

// TestRevokedClientAccessDeactivatesTheClientsTokens is the loop across two services: a
// subject revokes a client's access in consent, consent's outbox relays the tombstone
// over NATS, oauth-clients' consumer records it, and introspection answers active=false
// for the client's tokens for that subject; a re-grant lets new tokens be active.
func TestRevokedClientAccessDeactivatesTheClientsTokens(t *testing.T) {
	p := mustPlatform(t)
	ctx := context.Background()
	c := p.mustCreateClient(t, "acme", "Billing service")
	admin := mustToken(t, p.URL, "system", adminID, adminSecret)
	consent, _ := consentapi.NewClientWithResponses(p.URL, consentapi.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+admin)
		return nil
	}))
	grant := func() {
		t.Helper()
		within(t, 5*time.Second, "consent lets user-x grant the client access (once it knows the client)", func() bool {
			r, err := consent.GrantClientAccessWithResponse(ctx, "acme", "user-x", nil, consentapi.ClientAccessInput{ClientId: c.ClientId, Scopes: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			return r.JSON200 != nil
		})
	}
	grant()

	db, err := sqlx.Open("postgres", p.databases["oauth-clients"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// The token endpoint issues no user-delegated tokens yet: take a real token of the
	// client, make it the user's, and sign it with oauth-clients' active key.
	var key struct {
		Kid  string `db:"kid"`
		Seed []byte `db:"private_key"`
	}
	if err := db.Get(&key, `SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	real := mustToken(t, p.URL, "acme", c.ClientId, *c.ClientSecret)
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(real, ".")[1])
	userToken := func(subject string, iat time.Time) string {
		t.Helper()
		var claims auth.Claims
		if err := json.Unmarshal(raw, &claims); err != nil {
			t.Fatal(err)
		}
		claims.Subject, claims.IssuedAt, claims.NotBefore, claims.ID = subject, iat.Unix(), iat.Unix(), subject+iat.Format("150405.000000000")
		tok, err := auth.Sign(claims, key.Kid, ed25519.NewKeyFromSeed(key.Seed))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	active := func(token string) bool {
		t.Helper()
		cc, _ := clientsapi.NewClientWithResponses(p.URL)
		resp, err := cc.IntrospectTokenWithFormdataBodyWithResponse(ctx, "acme", clientsapi.IntrospectTokenFormdataRequestBody{Token: &token},
			func(_ context.Context, r *http.Request) error {
				r.SetBasicAuth(c.ClientId, *c.ClientSecret)
				return nil
			})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("introspect: %v %s", err, resp.Body)
		}
		return resp.JSON200.Active
	}

	issued := userToken("user-x", time.Now().Add(-5*time.Second))
	other := userToken("user-y", time.Now().Add(-5*time.Second))
	if !active(issued) || !active(other) || !active(real) {
		t.Fatal("the tokens are not active before the revocation")
	}
	if r, err := consent.RevokeClientAccessWithResponse(ctx, "acme", "user-x", c.ClientId); err != nil || r.StatusCode() != 204 {
		t.Fatalf("revoke: %v %s", err, r.Body)
	}
	within(t, 5*time.Second, "the revocation reaches oauth-clients' introspection", func() bool { return !active(issued) })
	// The token deny set may refuse the token before oauth-clients' own view has
	// committed the revocation: both follow the same event.
	within(t, 5*time.Second, "oauth-clients records the revocation", func() bool {
		var n int
		err := db.Get(&n, `SELECT count(*) FROM client_access_revocations WHERE tenant = 'acme' AND client_id = $1 AND subject = 'user-x'
			AND regranted_at IS NULL AND revoked_at > now() - interval '1 minute'`, c.ClientId)
		return err == nil && n == 1
	})
	if !active(other) || !active(real) {
		t.Error("revoking user-x's access deactivated another subject's token or the client's own")
	}

	grant()
	within(t, 5*time.Second, "the re-grant reaches oauth-clients", func() bool {
		var lifted bool
		_ = db.Get(&lifted, `SELECT regranted_at IS NOT NULL FROM client_access_revocations WHERE tenant = 'acme' AND client_id = $1 AND subject = 'user-x'`, c.ClientId)
		return lifted
	})
	// iat has whole seconds: a token of the revocation's own second counts as issued
	// before it, so the new one is issued in a later second.
	var revokedAt time.Time
	if err := db.Get(&revokedAt, `SELECT revoked_at FROM client_access_revocations WHERE tenant = 'acme' AND client_id = $1 AND subject = 'user-x'`, c.ClientId); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(revokedAt.Truncate(time.Second).Add(time.Second)))
	if !active(userToken("user-x", time.Now())) {
		t.Error("a token issued after the re-grant is not active")
	}
	if active(issued) {
		t.Error("the re-grant revived a token issued before the revocation")
	}
}
