package oauthclients_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	"github.com/iamplane/iam/pkg/testenv"
)

// TestRepublish: the views' anti-entropy asks oauth-clients to resend clients, scope
// definitions and client secrets; it answers with each one's current state under a fresh
// version, or a tombstone for one it does not have, and its digest and list agree with
// what it holds.
func TestRepublish(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	ctx := context.Background()
	nc, err := nats.Connect(s.NATS.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)

	s.mustScope(t, "acme", "billing.read")
	c := s.mustClient(t, "acme", "billing.read")
	secrets, err := s.admin.ListClientSecretsWithResponse(ctx, "acme", c.ClientId)
	if err != nil || secrets.JSON200 == nil || len(*secrets.JSON200) != 1 {
		t.Fatalf("secrets: %v %s", err, secrets.Body)
	}
	secretID := (*secrets.JSON200)[0].SecretId
	var hash string
	if err := s.DB.Get(&hash, `SELECT hash FROM client_secrets WHERE id = $1`, secretID); err != nil {
		t.Fatal(err)
	}

	var (
		client        = "iam.acme.clients.client." + c.ClientId
		scope         = "iam.acme.clients.scope.billing~read"
		secret        = "iam.acme.clients.clientsecret." + secretID
		missingClient = "iam.acme.clients.client.nobody"
		missingScope  = "iam.acme.clients.scope.no~such~scope"
		missingSecret = "iam.acme.clients.clientsecret.0123456789abcdef01234567"
		live          = []string{client, scope, secret}
		filters       = []string{"iam.*.clients.*.*"}
	)
	before := map[string]int64{}
	for _, subject := range live {
		ev, _ := s.lastEvent(t, subject, func(events.Envelope) bool { return true })
		before[subject] = ev.EntityVersion
	}

	// What the source lists and digests is what the stream holds.
	checkListAndDigest := func(t *testing.T, want map[string]int64) {
		t.Helper()
		list := testenv.AskSync(t, nc, "clients", "list", map[string]any{"tenant": "acme", "filters": filters})
		got := map[string]int64{}
		for _, e := range list.Entries {
			got[e.Subject] = e.Version
		}
		if list.Error != "" || len(got) != len(want) {
			t.Fatalf("list %+v, want %v", list, want)
		}
		for subject, v := range want {
			if got[subject] != v {
				t.Errorf("list: %s at version %d, want %d", subject, got[subject], v)
			}
		}
		d := testenv.AskSync(t, nc, "clients", "digest", map[string]any{"tenant": "acme", "filters": filters})
		if d.Error != "" || d.Digest == nil || d.Digest.Count != int64(len(want)) || d.Digest.Sum != events.DigestOf(want).Sum {
			t.Errorf("digest %+v, want %d entities summing to %s", d, len(want), events.DigestOf(want).Sum)
		}
	}
	t.Run("before", func(t *testing.T) { checkListAndDigest(t, before) })

	tenants := testenv.AskSync(t, nc, "clients", "tenants", map[string]any{"filters": filters})
	if !slices.Contains(tenants.Tenants, "acme") || !slices.Contains(tenants.Tenants, "system") || tenants.Error != "" {
		t.Errorf("tenants %+v", tenants)
	}
	if only := testenv.AskSync(t, nc, "clients", "digest", map[string]any{"tenant": "acme", "filters": []string{"iam.acme.clients.scope.*"}}); only.Digest == nil || only.Digest.Count != 1 {
		t.Errorf("digest of the scopes alone: %+v", only)
	}
	if other := testenv.AskSync(t, nc, "clients", "resend", map[string]any{"tenant": "acme", "subjects": []string{"iam.acme.subjects.user.u1"}}); other.Error == "" {
		t.Errorf("resent another area's entity: %+v", other)
	}

	all := []string{client, scope, secret, missingClient, missingScope, missingSecret}
	if reply := testenv.AskSync(t, nc, "clients", "resend", map[string]any{"tenant": "acme", "subjects": all}); reply.Resent != len(all) || reply.Error != "" {
		t.Fatalf("resend: %+v", reply)
	}

	after := map[string]int64{}
	fresh := func(subject string) func(events.Envelope) bool {
		return func(ev events.Envelope) bool { return ev.EntityVersion > before[subject] }
	}
	t.Run("an existing client is republished, without its secret", func(t *testing.T) {
		ev, msg := s.lastEvent(t, client, fresh(client))
		after[client] = ev.EntityVersion
		var st schema.ClientState
		if err := json.Unmarshal(ev.Data, &st); err != nil || ev.Deleted || ev.Type != "dev.iamplane.client.upserted.v1" ||
			st.ClientId != c.ClientId || st.ClientName != c.ClientName || !slices.Equal(st.Scopes, []string{"billing.read"}) {
			t.Errorf("event %+v state %+v %v", ev, st, err)
		}
		if strings.Contains(string(msg.Data), *c.ClientSecret) || strings.Contains(string(msg.Data), hash) {
			t.Error("the client's event carries its secret")
		}
	})
	t.Run("an existing scope definition is republished", func(t *testing.T) {
		ev, _ := s.lastEvent(t, scope, fresh(scope))
		after[scope] = ev.EntityVersion
		var st schema.ScopeDefinitionState
		if err := json.Unmarshal(ev.Data, &st); err != nil || ev.Deleted || ev.Type != "dev.iamplane.scope.upserted.v1" ||
			st.Name != "billing.read" || st.DisplayName != "The billing.read scope" {
			t.Errorf("event %+v state %+v %v", ev, st, err)
		}
	})
	t.Run("an existing secret is republished, its metadata only", func(t *testing.T) {
		ev, msg := s.lastEvent(t, secret, fresh(secret))
		after[secret] = ev.EntityVersion
		var st schema.ClientSecretState
		if err := json.Unmarshal(ev.Data, &st); err != nil || ev.Deleted || ev.Type != "dev.iamplane.clientsecret.upserted.v1" ||
			st.SecretId != secretID || st.ClientId != c.ClientId || st.CreatedAt == nil {
			t.Errorf("event %+v state %+v %v", ev, st, err)
		}
		if strings.Contains(string(msg.Data), *c.ClientSecret) || strings.Contains(string(msg.Data), hash) {
			t.Error("the secret's event carries the secret or its hash")
		}
	})
	t.Run("a missing client is a tombstone", func(t *testing.T) {
		ev, _ := s.lastEvent(t, missingClient, func(events.Envelope) bool { return true })
		var st schema.ClientState
		if err := json.Unmarshal(ev.Data, &st); err != nil || !ev.Deleted || ev.Type != "dev.iamplane.client.deleted.v1" ||
			st.ClientId != "nobody" || st.Tenant != "acme" || !st.Deleted || ev.EntityVersion <= before[client] {
			t.Errorf("event %+v state %+v %v", ev, st, err)
		}
	})
	t.Run("a missing scope definition is a tombstone naming it", func(t *testing.T) {
		ev, _ := s.lastEvent(t, missingScope, func(events.Envelope) bool { return true })
		var st schema.ScopeDefinitionState
		if err := json.Unmarshal(ev.Data, &st); err != nil || !ev.Deleted || ev.Type != "dev.iamplane.scope.deleted.v1" ||
			st.Name != "no.such.scope" || st.Tenant != "acme" || !st.Deleted {
			t.Errorf("event %+v state %+v %v", ev, st, err)
		}
	})
	t.Run("a missing secret is a tombstone", func(t *testing.T) {
		ev, _ := s.lastEvent(t, missingSecret, func(events.Envelope) bool { return true })
		var st schema.ClientSecretState
		if err := json.Unmarshal(ev.Data, &st); err != nil || !ev.Deleted || ev.Type != "dev.iamplane.clientsecret.deleted.v1" ||
			st.SecretId != "0123456789abcdef01234567" || st.Tenant != "acme" || !st.Deleted {
			t.Errorf("event %+v state %+v %v", ev, st, err)
		}
	})
	// Tombstones are no live entities: the digest still counts the three, at their new versions.
	t.Run("after", func(t *testing.T) {
		if len(after) != len(live) {
			t.Fatalf("republished %v", after)
		}
		checkListAndDigest(t, after)
	})
}
