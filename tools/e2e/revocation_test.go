package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/auth"

	clientsapi "github.com/iamplane/iam/services/oauth-clients/api"
)

// revocationBound is how soon after a revocation's answer every service must refuse the
// token: the path is outbox -> relay -> JetStream -> each service's ordered consumer.
const revocationBound = 2 * time.Second

// resourcePaths are one read of each service's resource API, all allowed to services.iam.
var resourcePaths = map[string]string{
	"oauth-clients": "/v1/tenants/acme/clients",
	"iam-subjects":  "/v1/tenants/acme/users",
	"iam-policies":  "/v1/tenants/acme/policies",
	"consent":       "/v1/tenants/acme/consents",
}

// call sends method path with token (and body, as JSON) through the gateway: status and body.
func (p *platform) call(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, p.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// mustAdminClient creates a services.iam client in tenant.
func (p *platform) mustAdminClient(t *testing.T, tenant string) clientsapi.Client {
	t.Helper()
	resp, err := p.clients.CreateClientWithResponse(context.Background(), tenant, clientsapi.ClientInput{ClientName: "tenant admin",
		Scopes: &[]string{auth.AdminScope}})
	if err != nil || resp.JSON201 == nil {
		t.Fatalf("create admin client: %v %s", err, resp.Body)
	}
	return *resp.JSON201
}

// acceptedEverywhere fails unless every service answers 200 to token.
func (p *platform) acceptedEverywhere(t *testing.T, token string) {
	t.Helper()
	for service, path := range resourcePaths {
		if status, body := p.call(t, http.MethodGet, path, token, nil); status != http.StatusOK {
			t.Fatalf("%s refuses a good token: %d %s", service, status, body)
		}
	}
}

// refusedEverywhere waits until every service refuses token with 401 naming "revoked".
func (p *platform) refusedEverywhere(t *testing.T, token, what string) {
	t.Helper()
	for service, path := range resourcePaths {
		within(t, revocationBound, service+" refuses the token of "+what, func() bool {
			status, body := p.call(t, http.MethodGet, path, token, nil)
			return status == http.StatusUnauthorized && strings.Contains(string(body), "revoked")
		})
	}
}

func revokeToken(t *testing.T, base, tenant, id, secret, token string) {
	t.Helper()
	c, _ := clientsapi.NewClientWithResponses(base)
	resp, err := c.RevokeTokenWithFormdataBodyWithResponse(context.Background(), tenant,
		clientsapi.RevokeTokenFormdataRequestBody{Token: &token}, func(_ context.Context, r *http.Request) error {
			r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			return nil
		})
	if err != nil || resp.StatusCode() != http.StatusOK {
		t.Fatalf("revoke: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
}

// TestRevocationReachesEveryService: a services.iam client's token works on every
// service; revoking it, or deleting its client, makes every service refuse it within
// revocationBound, while the client's other tokens (for a revoked jti) keep working.
func TestRevocationReachesEveryService(t *testing.T) {
	p := mustPlatform(t)
	admin := p.mustAdminClient(t, "acme")
	revoked := mustToken(t, p.URL, "acme", admin.ClientId, *admin.ClientSecret)
	kept := mustToken(t, p.URL, "acme", admin.ClientId, *admin.ClientSecret)
	p.acceptedEverywhere(t, revoked)

	revokeToken(t, p.URL, "acme", admin.ClientId, *admin.ClientSecret, revoked)
	p.refusedEverywhere(t, revoked, "a revoked jti")
	p.acceptedEverywhere(t, kept)

	// A compromised admin client is cut off by deleting it: its live tokens stop working.
	if resp, err := p.clients.DeleteClientWithResponse(context.Background(), "acme", admin.ClientId); err != nil || resp.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete client: %v %s", err, resp.Body)
	}
	p.refusedEverywhere(t, kept, "a deleted client")
	// Its token can no longer create a successor.
	status, body := p.call(t, http.MethodPost, "/v1/tenants/acme/clients", kept, map[string]any{"clientName": "successor", "scopes": []string{auth.AdminScope}})
	if status != http.StatusUnauthorized {
		t.Fatalf("a deleted client's token created a client: %d %s", status, body)
	}
	// oauth-clients' introspection agrees.
	if intro := p.introspect(t, "acme", kept); intro {
		t.Error("a deleted client's token introspects as active")
	}
}

// TestRevokedSecretCutsItsTokens: a client with two secrets gets a token with each;
// revoking secret A makes every service refuse A's token within revocationBound (and
// introspection call it inactive), while B's token and new tokens from B keep working.
func TestRevokedSecretCutsItsTokens(t *testing.T) {
	p := mustPlatform(t)
	ctx := context.Background()
	admin := p.mustAdminClient(t, "acme")
	list, err := p.clients.ListClientSecretsWithResponse(ctx, "acme", admin.ClientId)
	if err != nil || list.JSON200 == nil || len(*list.JSON200) != 1 {
		t.Fatalf("list secrets: %v %s", err, list.Body)
	}
	secretA := (*list.JSON200)[0].SecretId
	added, err := p.clients.CreateClientSecretWithResponse(ctx, "acme", admin.ClientId, clientsapi.ClientSecretInput{})
	if err != nil || added.JSON201 == nil || added.JSON201.Value == nil {
		t.Fatalf("add secret: %v %s", err, added.Body)
	}
	tokenA := mustToken(t, p.URL, "acme", admin.ClientId, *admin.ClientSecret)
	tokenB := mustToken(t, p.URL, "acme", admin.ClientId, *added.JSON201.Value)
	p.acceptedEverywhere(t, tokenA)
	p.acceptedEverywhere(t, tokenB)

	if resp, err := p.clients.DeleteClientSecretWithResponse(ctx, "acme", admin.ClientId, secretA); err != nil || resp.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete secret A: %v %s", err, resp.Body)
	}
	start := time.Now()
	p.refusedEverywhere(t, tokenA, "a revoked secret")
	t.Logf("secret A's token refused by every service %s after the deletion's answer", time.Since(start))
	status, body := p.call(t, http.MethodGet, resourcePaths["iam-subjects"], tokenA, nil)
	if !strings.Contains(string(body), "secret") {
		t.Errorf("the refusal does not say why: %d %s", status, body)
	}
	if p.introspect(t, "acme", tokenA) {
		t.Error("a revoked secret's token introspects as active")
	}
	p.acceptedEverywhere(t, tokenB)
	p.acceptedEverywhere(t, mustToken(t, p.URL, "acme", admin.ClientId, *added.JSON201.Value))
	if !p.introspect(t, "acme", tokenB) {
		t.Error("the other secret's token introspects as inactive")
	}
}

func (p *platform) introspect(t *testing.T, tenant, token string) bool {
	t.Helper()
	other := p.mustCreateClient(t, tenant, "introspector")
	cc, _ := clientsapi.NewClientWithResponses(p.URL)
	resp, err := cc.IntrospectTokenWithFormdataBodyWithResponse(context.Background(), tenant, clientsapi.IntrospectTokenFormdataRequestBody{Token: &token},
		func(_ context.Context, r *http.Request) error {
			r.SetBasicAuth(other.ClientId, *other.ClientSecret)
			return nil
		})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("introspect: %v %s", err, resp.Body)
	}
	return resp.JSON200.Active
}

// signer signs tokens of any subject with oauth-clients' active key: the token endpoint
// issues no user-delegated tokens yet.
type signer struct {
	kid  string
	key  ed25519.PrivateKey
	base auth.Claims
}

func (p *platform) mustSigner(t *testing.T, tenant string, c clientsapi.Client) *signer {
	t.Helper()
	db, err := sqlx.Open("postgres", p.databases["oauth-clients"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var key struct {
		Kid  string `db:"kid"`
		Seed []byte `db:"private_key"`
	}
	if err := db.Get(&key, `SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	real := mustToken(t, p.URL, tenant, c.ClientId, *c.ClientSecret)
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(real, ".")[1])
	s := &signer{kid: key.Kid, key: ed25519.NewKeyFromSeed(key.Seed)}
	if err := json.Unmarshal(raw, &s.base); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *signer) token(t *testing.T, subject string, iat time.Time) string {
	t.Helper()
	c := s.base
	c.Subject, c.IssuedAt, c.NotBefore, c.ID = subject, iat.Unix(), iat.Unix(), fmt.Sprintf("%s-%d", subject, iat.UnixNano())
	c.ExpiresAt = iat.Add(time.Hour).Unix()
	tok, err := auth.Sign(c, s.kid, s.key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestLockedUsersTokensAreRefused: a token issued to a user before the user is locked is
// refused on /me by iam-subjects (and everywhere else); an unlock lets only tokens issued
// from then on through. Deleting the user refuses its earlier tokens too.
func TestLockedUsersTokensAreRefused(t *testing.T) {
	p := mustPlatform(t)
	admin := mustToken(t, p.URL, "system", adminID, adminSecret)
	status, body := p.call(t, http.MethodPost, "/v1/tenants/acme/users", admin, map[string]any{"userType": "EMPLOYEE", "username": "jane"})
	if status != http.StatusCreated {
		t.Fatalf("create user: %d %s", status, body)
	}
	var user struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &user)
	app := p.mustCreateClient(t, "acme", "web app")
	sign := p.mustSigner(t, "acme", app)
	me := func(token string) (int, string) {
		status, body := p.call(t, http.MethodGet, "/v1/tenants/acme/me", token, nil)
		return status, string(body)
	}
	before := sign.token(t, "user-"+user.ID, time.Now().Add(-time.Second))
	within(t, 5*time.Second, "/me knows the user", func() bool { s, _ := me(before); return s == http.StatusOK })

	setLocked := func(locked bool, version int) {
		t.Helper()
		status, body := p.call(t, http.MethodPut, "/v1/tenants/acme/users/"+user.ID, admin,
			map[string]any{"userType": "EMPLOYEE", "username": "jane", "isAccountLocked": locked, "metadata": map[string]any{"version": version}})
		if status != http.StatusOK {
			t.Fatalf("lock=%v: %d %s", locked, status, body)
		}
	}
	setLocked(true, 1)
	within(t, revocationBound, "/me refuses the locked user's token", func() bool {
		s, b := me(before)
		return s == http.StatusUnauthorized && strings.Contains(b, "revoked")
	})

	setLocked(false, 2)
	unlocked := time.Now()
	// iat has whole seconds: a token of the unlock's own second may count as before it.
	time.Sleep(time.Until(unlocked.Truncate(time.Second).Add(time.Second)))
	after := sign.token(t, "user-"+user.ID, time.Now())
	within(t, revocationBound, "/me accepts a token issued after the unlock", func() bool { s, _ := me(after); return s == http.StatusOK })
	if s, b := me(before); s != http.StatusUnauthorized {
		t.Errorf("the unlock revived a token issued before the lock: %d %s", s, b)
	}

	if status, body := p.call(t, http.MethodDelete, "/v1/tenants/acme/users/"+user.ID, admin, nil); status != http.StatusNoContent {
		t.Fatalf("delete user: %d %s", status, body)
	}
	within(t, revocationBound, "the deleted user's token is refused", func() bool {
		status, body := p.call(t, http.MethodGet, "/v1/tenants/acme/consents", after, nil)
		return status == http.StatusUnauthorized && strings.Contains(string(body), "revoked")
	})
}

// TestWithdrawnClientAccessIsRefusedEverywhere: once a subject takes a client's access
// away in consent, the client's tokens for that subject are refused by the resource
// APIs, not only at introspection; the client's tokens for others keep working.
func TestWithdrawnClientAccessIsRefusedEverywhere(t *testing.T) {
	p := mustPlatform(t)
	admin := mustToken(t, p.URL, "system", adminID, adminSecret)
	app := p.mustCreateClient(t, "acme", "web app")
	within(t, 5*time.Second, "consent lets user-x grant the app access (once it knows the app)", func() bool {
		status, _ := p.call(t, http.MethodPost, "/v1/tenants/acme/client-access/user-x", admin, map[string]any{"clientId": app.ClientId, "scopes": []string{}})
		return status == http.StatusOK
	})
	sign := p.mustSigner(t, "acme", app)
	x, y := sign.token(t, "user-x", time.Now().Add(-time.Second)), sign.token(t, "user-y", time.Now().Add(-time.Second))
	for _, tok := range []string{x, y} {
		if status, body := p.call(t, http.MethodGet, "/v1/tenants/acme/me", tok, nil); status != http.StatusOK && status != http.StatusNotFound {
			t.Fatalf("before: %d %s", status, body)
		}
	}
	if status, body := p.call(t, http.MethodDelete, "/v1/tenants/acme/client-access/user-x/"+app.ClientId, admin, nil); status != http.StatusNoContent {
		t.Fatalf("withdraw: %d %s", status, body)
	}
	within(t, revocationBound, "iam-subjects refuses the app's token for user-x", func() bool {
		status, body := p.call(t, http.MethodGet, "/v1/tenants/acme/me", x, nil)
		return status == http.StatusUnauthorized && strings.Contains(string(body), "revoked")
	})
	if status, body := p.call(t, http.MethodGet, "/v1/tenants/acme/me", y, nil); status == http.StatusUnauthorized {
		t.Errorf("withdrawing user-x's access refused user-y's token: %s", body)
	}
}
