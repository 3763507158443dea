package oauthclients_test

import (
	"context"
	"testing"
	"time"

	"github.com/iamplane/iam/services/oauth-clients/api"
)

// TestCredentialChangesReachEveryReplica: replica B caches a client's credentials; changes
// made on replica A stop them working on B as soon as A's events arrive (well within the
// cache TTL, which is set far beyond the test's patience here).
func TestCredentialChangesReachEveryReplica(t *testing.T) {
	t.Parallel()
	a := mustStart(t, map[string]string{"IAM_CREDENTIALS_CACHE_TTL": "1h"})
	b := a.replica(t)
	ctx := context.Background()
	c := a.mustClient(t, "acme", "iam.client_read")
	added, err := a.admin.CreateClientSecretWithResponse(ctx, "acme", c.ClientId, api.ClientSecretInput{Value: ptr("chosen-secret-1")})
	if err != nil || added.JSON201 == nil {
		t.Fatalf("%v %s", err, added.Body)
	}
	// B authenticates both secrets, so both are in its cache (the chosen one remembered).
	b.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "")
	b.mustToken(t, "acme", c.ClientId, "chosen-secret-1", "")

	if _, err := a.admin.DeleteClientSecretWithResponse(ctx, "acme", c.ClientId, added.JSON201.SecretId); err != nil {
		t.Fatal(err)
	}
	if resp := a.tokenResponse(t, "acme", c.ClientId, "chosen-secret-1", ""); resp.StatusCode() != 401 {
		t.Fatalf("the deleted secret works on the replica that deleted it: %d", resp.StatusCode())
	}
	start := time.Now()
	eventually(t, "replica B refuses the deleted secret", func() bool {
		return b.tokenResponse(t, "acme", c.ClientId, "chosen-secret-1", "").StatusCode() == 401
	})
	t.Logf("secret deletion reached replica B after %s", time.Since(start))
	b.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "") // the other secret still works there

	// A scope change on A narrows B's tokens.
	if _, err := a.admin.UpdateClientWithResponse(ctx, "acme", c.ClientId, &api.UpdateClientParams{IfMatch: ptr(`"1"`)},
		api.ClientInput{ClientName: "narrowed", Scopes: &[]string{"iam.scope_read"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica B grants the new scopes", func() bool {
		resp := b.tokenResponse(t, "acme", c.ClientId, *c.ClientSecret, "")
		return resp.JSON200 != nil && *resp.JSON200.Scope == "iam.scope_read"
	})

	// Deleting the client on A ends it on B.
	if _, err := a.admin.DeleteClientWithResponse(ctx, "acme", c.ClientId); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica B refuses the deleted client", func() bool {
		return b.tokenResponse(t, "acme", c.ClientId, *c.ClientSecret, "").StatusCode() == 401
	})
}

// TestCredentialsCacheTTLIsTheBackstop: without events (NATS gone), a change made
// elsewhere is honoured once the TTL has passed.
func TestCredentialsCacheTTLIsTheBackstop(t *testing.T) {
	t.Parallel()
	// A TTL long enough that a loaded machine (CI shares two cores with everything else)
	// reaches the first request within it, short enough for the test.
	s := mustStart(t, map[string]string{"IAM_CREDENTIALS_CACHE_TTL": "4s"})
	c := s.mustClient(t, "acme", "iam.client_read")
	s.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "")
	s.NATS.Stop()
	// A change the service does not see: another replica's write whose event is stuck.
	if _, err := s.DB.Exec(`DELETE FROM client_secrets WHERE client_id = $1`, c.ClientId); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if resp := s.tokenResponse(t, "acme", c.ClientId, *c.ClientSecret, ""); resp.StatusCode() != 200 {
		t.Fatalf("credentials were not cached: %d", resp.StatusCode())
	}
	eventually(t, "the cached secret expires", func() bool {
		return s.tokenResponse(t, "acme", c.ClientId, *c.ClientSecret, "").StatusCode() == 401
	})
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("took %s with a 4s TTL", d)
	}
}
