package oauthclients_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	"github.com/iamplane/iam/pkg/keyring"
)

// userToken signs, with the service's own key ring (the token endpoint's signing path), a
// token of client for a user subject issued at iat: what a user-delegated grant would
// issue, which the token endpoint does not offer yet.
func (s *stack) userToken(tb testing.TB, keys *keyring.Ring, tenant, clientID, subject string, iat time.Time) string {
	tb.Helper()
	tok, err := keys.Sign(context.Background(), auth.Claims{
		Issuer: auth.Issuer(issuerBase, tenant), Subject: subject, Audience: auth.Audience{"iam"},
		ExpiresAt: iat.Add(time.Hour).Unix(), NotBefore: iat.Unix(), IssuedAt: iat.Unix(),
		ID: subject + "-" + iat.Format("150405.000000000"), Tenant: tenant, ClientID: clientID,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// publishClientAccess publishes consent's client-access event for subject and client,
// recorded at at: a tombstone when revoked, else the (re-)granted state.
func (s *stack) publishClientAccess(tb testing.TB, tenant, subject, clientID string, version int64, revoked bool, at time.Time) {
	tb.Helper()
	js := s.JetStream
	ctx := context.Background()
	if err := events.EnsureStreams(ctx, js, events.StreamOptions{}); err != nil {
		tb.Fatal(err)
	}
	scopes := []string{"profile"}
	if revoked {
		scopes = []string{}
	}
	ev, err := events.New("/iam/consent", events.Entity{Tenant: tenant, Area: "consent", Kind: "clientaccess", ID: subject + "~" + clientID},
		version, revoked, schema.ClientAccessState{Tenant: tenant, Subject: subject, ClientId: clientID, Scopes: scopes, Deleted: revoked})
	if err != nil {
		tb.Fatal(err)
	}
	ev.Time = at
	raw, _ := json.Marshal(ev)
	if _, err := js.Publish(ctx, ev.Subject, raw); err != nil {
		tb.Fatal(err)
	}
}

func TestClientAccessRevocationDeactivatesTokens(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	c := s.mustClient(t, "acme", "iam.client_read")
	keys := keyring.New(&keyring.Postgres{DB: s.DB}, time.Hour)
	if err := keys.Load(ctx); err != nil {
		t.Fatal(err)
	}
	active := func(token string) bool {
		t.Helper()
		return introspect(t, s, "acme", c.ClientId, *c.ClientSecret, token).Active
	}
	base := time.Now().Truncate(time.Second)
	revokedAt, regrantedAt := base.Add(-60*time.Second+500*time.Millisecond), base.Add(-10*time.Second)

	beforeRevocation := s.userToken(t, keys, "acme", c.ClientId, "user-x", base.Add(-120*time.Second))
	whileRevoked := s.userToken(t, keys, "acme", c.ClientId, "user-x", base.Add(-30*time.Second))
	otherSubject := s.userToken(t, keys, "acme", c.ClientId, "user-y", base.Add(-120*time.Second))
	otherTenantsSubject := s.userToken(t, keys, "acme", c.ClientId, "user-z", base.Add(-120*time.Second))
	own := s.mustToken(t, "acme", c.ClientId, *c.ClientSecret, "")
	for name, tok := range map[string]string{"before the revocation": beforeRevocation, "other subject": otherSubject, "own": own} {
		if !active(tok) {
			t.Fatalf("a token %s is not active before any revocation", name)
		}
	}

	// Another tenant's revocation for a subject of the same name touches nothing here.
	s.publishClientAccess(t, "globex", "user-z", c.ClientId, 1, true, revokedAt)
	s.publishClientAccess(t, "acme", "user-x", c.ClientId, 1, false, base.Add(-200*time.Second)) // the first grant: nothing to lift
	s.publishClientAccess(t, "acme", "user-x", c.ClientId, 2, true, revokedAt)
	eventually(t, "the revocation makes the token inactive", func() bool { return !active(beforeRevocation) })
	var row struct {
		RevokedAt   time.Time  `db:"revoked_at"`
		RegrantedAt *time.Time `db:"regranted_at"`
	}
	// The in-memory deny set may refuse the token before the view's consumer has
	// committed the row.
	var err error
	eventually(t, "the revocation is in the view", func() bool {
		err = s.DB.Get(&row, `SELECT revoked_at, regranted_at FROM client_access_revocations WHERE tenant = 'acme' AND client_id = $1 AND subject = 'user-x'`,
			c.ClientId)
		return err == nil
	})
	if !row.RevokedAt.Equal(revokedAt) || row.RegrantedAt != nil {
		t.Fatalf("revocation row %+v: %v", row, err)
	}
	if active(whileRevoked) {
		t.Error("a token issued while the access was revoked is active")
	}
	for name, tok := range map[string]string{"of another subject": otherSubject, "of the client itself": own,
		"of a subject another tenant revoked": otherTenantsSubject} {
		if !active(tok) {
			t.Errorf("a token %s lost its activity", name)
		}
	}

	// A re-grant lifts the revocation only for tokens issued from then on.
	s.publishClientAccess(t, "acme", "user-x", c.ClientId, 3, false, regrantedAt)
	eventually(t, "the re-grant is applied", func() bool {
		var lifted bool
		_ = s.DB.Get(&lifted, `SELECT regranted_at IS NOT NULL FROM client_access_revocations WHERE tenant = 'acme' AND client_id = $1 AND subject = 'user-x'`, c.ClientId)
		return lifted
	})
	afterRegrant := s.userToken(t, keys, "acme", c.ClientId, "user-x", base)
	if !active(afterRegrant) {
		t.Error("a token issued after the re-grant is not active")
	}
	if active(beforeRevocation) || active(whileRevoked) {
		t.Error("the re-grant revived a token issued before it")
	}
	// A stale redelivery of the old revocation changes nothing (version guard): once an
	// event published after it is applied, the newer token is still active ...
	s.publishClientAccess(t, "acme", "user-x", c.ClientId, 2, true, revokedAt)
	marker := s.userToken(t, keys, "acme", c.ClientId, "user-w", base.Add(-120*time.Second))
	s.publishClientAccess(t, "acme", "user-w", c.ClientId, 1, true, revokedAt)
	eventually(t, "the event after the stale one is applied", func() bool {
		var n int
		_ = s.DB.Get(&n, `SELECT count(*) FROM client_access_revocations WHERE tenant = 'acme' AND client_id = $1 AND subject = 'user-w'`, c.ClientId)
		return n == 1 && !active(marker)
	})
	if !active(afterRegrant) {
		t.Error("a stale redelivered revocation was applied over the re-grant")
	}
	// ... a new revocation does.
	s.publishClientAccess(t, "acme", "user-x", c.ClientId, 4, true, base.Add(500*time.Millisecond))
	eventually(t, "the second revocation makes the newer token inactive", func() bool { return !active(afterRegrant) })
}
