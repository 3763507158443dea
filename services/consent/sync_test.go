package consent_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	"github.com/iamplane/iam/pkg/testenv"

	"github.com/iamplane/iam/services/consent/api"
)

// syncConn is a NATS connection to the stack's server, closed in Cleanup.
func (s *stack) syncConn(tb testing.TB) *nats.Conn {
	tb.Helper()
	nc, err := nats.Connect(s.NATS.URL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

func within(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
	}
}

func accessSubject(subject, clientID string) string {
	return "iam.acme.consent.clientaccess." + subject + "~" + clientID
}

// lastAccess is the stream's last event on subject once its version is above after (0:
// any), with the ClientAccessState it carries.
func lastAccess(tb testing.TB, js jetstream.JetStream, subject string, after int64) (events.Envelope, schema.ClientAccessState) {
	tb.Helper()
	ev := testenv.LastEvent(tb, js, subject, after)
	var st schema.ClientAccessState
	if err := json.Unmarshal(ev.Data, &st); err != nil {
		tb.Fatalf("%s: decode client access %s: %v", subject, ev.Data, err)
	}
	return ev, st
}

// withClients publishes oauth-clients' events for the clients billing and crm and the
// scope invoices.read, and waits until consent's views know both clients.
func (s *stack) withClients(tb testing.TB) {
	tb.Helper()
	for _, id := range []string{"billing", "crm"} {
		s.publish(tb, "clients", "client", id, 1, false, map[string]any{"clientId": id, "tenant": "acme", "clientName": id,
			"scopes": []string{}, "grantTypes": []string{}, "public": false, "system": false, "trusted": false, "deleted": false})
	}
	s.publish(tb, "clients", "scope", "invoices~read", 1, false, map[string]any{"name": "invoices.read", "tenant": "acme", "displayName": "Read invoices",
		"description": "", "userPolicyId": "", "developerPolicyId": "", "builtIn": false, "deleted": false})
	within(tb, 10*time.Second, "the client views", func() bool {
		var n int
		if err := s.DB.Get(&n, `SELECT count(*) FROM client_view WHERE tenant = 'acme' AND id IN ('billing', 'crm')`); err != nil {
			tb.Fatal(err)
		}
		return n == 2
	})
}

// grantAccess lets clientID in for subject with scopes; revokeAccess takes it away (false
// when there was none).
func (s *stack) grantAccess(tb testing.TB, subject, clientID string, scopes ...string) {
	tb.Helper()
	if scopes == nil {
		scopes = []string{}
	}
	r, err := s.admin.GrantClientAccessWithResponse(context.Background(), "acme", subject, nil, api.ClientAccessInput{ClientId: clientID, Scopes: scopes})
	if err != nil || r.JSON200 == nil {
		tb.Fatalf("grant %s to %s: %v %d %s", clientID, subject, err, r.StatusCode(), r.Body)
	}
}

func (s *stack) revokeAccess(tb testing.TB, subject, clientID string) bool {
	tb.Helper()
	r, err := s.admin.RevokeClientAccessWithResponse(context.Background(), "acme", subject, clientID)
	if err != nil || (r.StatusCode() != 204 && r.StatusCode() != 404) {
		tb.Fatalf("revoke %s of %s: %v %d %s", clientID, subject, err, r.StatusCode(), r.Body)
	}
	return r.StatusCode() == 204
}

// grantedAt is when subject let clientID in, as consent stores it (nil: no access).
func (s *stack) grantedAt(tb testing.TB, subject, clientID string) *time.Time {
	tb.Helper()
	r, err := s.admin.ListClientAccessWithResponse(context.Background(), "acme", subject)
	if err != nil || r.JSON200 == nil {
		tb.Fatalf("client access of %s: %v %s", subject, err, r.Body)
	}
	for _, c := range r.JSON200.Clients {
		if c.ClientId == clientID {
			return &c.GrantedAt
		}
	}
	return nil
}

// TestResendRepublishesClientAccess answers a view's anti-entropy requests as consent's
// source: digest, tenants and list agree with the client accesses it published, and
// resend records each named access anew (a fresh version, same scopes, as of its grant)
// or a tombstone for one that was revoked or never given.
func TestResendRepublishesClientAccess(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	nc := s.syncConn(t)
	s.withClients(t)

	// user-c1 let billing in with a scope and crm with none; user-c2 let billing in and
	// took it back (a tombstone); user-ghost never let anyone in.
	s.grantAccess(t, "user-c1", "billing", "invoices.read")
	s.grantAccess(t, "user-c1", "crm")
	s.grantAccess(t, "user-c2", "billing", "invoices.read")
	if !s.revokeAccess(t, "user-c2", "billing") {
		t.Fatal("user-c2 had no access to revoke")
	}
	c1Billing, c1CRM, c2Billing, ghost := accessSubject("user-c1", "billing"), accessSubject("user-c1", "crm"),
		accessSubject("user-c2", "billing"), accessSubject("user-ghost", "billing")
	want := map[string][]string{c1Billing: {"invoices.read"}, c1CRM: {}}
	grantedAt := map[string]time.Time{c1Billing: *s.grantedAt(t, "user-c1", "billing"), c1CRM: *s.grantedAt(t, "user-c1", "crm")}
	published := map[string]int64{}
	for name, scopes := range want {
		ev, st := lastAccess(t, s.JetStream, name, 0)
		if ev.Deleted || !slices.Equal(st.Scopes, scopes) {
			t.Fatalf("%s published as %+v %+v", name, ev, st)
		}
		// The event's time is the grant's (the stored time has microseconds).
		if d := ev.Time.Sub(grantedAt[name]); d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("%s published at %s, granted at %s", name, ev.Time, grantedAt[name])
		}
		published[name] = ev.EntityVersion
	}
	// The grant may still be the newest event on the stream for a moment: the relay
	// publishes the revocation after it.
	var revoked events.Envelope
	within(t, 10*time.Second, "the revocation on the stream", func() bool {
		revoked, _ = lastAccess(t, s.JetStream, c2Billing, 0)
		return revoked.Deleted
	})
	ledgerBefore := len(s.ledger(t, "user-c1")) + len(s.ledger(t, "user-c2"))

	// The source side of the digests agrees with what is on the stream: the revoked access
	// is no live entity.
	filters := []string{"iam.*.consent.clientaccess.*"}
	consistent := func(what string, versions map[string]int64) {
		t.Helper()
		if r := testenv.AskSync(t, nc, "consent", "tenants", events.SyncRequest{Filters: filters}); r.Error != "" || !slices.Equal(r.Tenants, []string{"acme"}) {
			t.Errorf("%s: tenants %+v", what, r)
		}
		testenv.CheckListed(t, nc, "consent", "acme", filters, versions, what)
		only := testenv.AskSync(t, nc, "consent", "list", events.SyncRequest{Tenant: "acme", Filters: filters, Subjects: []string{c1CRM, c2Billing, ghost}})
		if only.Error != "" || len(only.Entries) != 1 || only.Entries[0] != (events.VersionEntry{Subject: c1CRM, Version: versions[c1CRM]}) {
			t.Errorf("%s: list of named subjects %+v", what, only)
		}
		if r := testenv.AskSync(t, nc, "consent", "digest", events.SyncRequest{Tenant: "other", Filters: filters}); r.Digest == nil || r.Digest.Count != 0 {
			t.Errorf("%s: another tenant's digest %+v", what, r)
		}
	}
	consistent("before resend", published)

	// Resend: the standing accesses come back with fresh versions, the revoked and the
	// never-given one as tombstones that consumers of client access decode.
	names := []string{c1Billing, c1CRM, c2Billing, ghost}
	if r := testenv.AskSync(t, nc, "consent", "resend", events.SyncRequest{Tenant: "acme", Subjects: names}); r.Error != "" || r.Resent != len(names) {
		t.Fatalf("resend: %+v", r)
	}
	after := map[string]int64{}
	for name, scopes := range want {
		ev, st := lastAccess(t, s.JetStream, name, published[name])
		subject, clientID, _ := strings.Cut(strings.TrimPrefix(name, "iam.acme.consent.clientaccess."), "~")
		if ev.Deleted || st.Deleted || st.Tenant != "acme" || st.Subject != subject || st.ClientId != clientID ||
			st.Scopes == nil || !slices.Equal(st.Scopes, scopes) {
			t.Errorf("%s resent as %+v %+v, want scopes %q", name, ev, st, scopes)
		}
		if ev.Type != "dev.iamplane.clientaccess.upserted.v1" || ev.Source != "/iam/consent" {
			t.Errorf("%s resent as type %s from %s", name, ev.Type, ev.Source)
		}
		if !ev.Time.Equal(grantedAt[name]) {
			t.Errorf("%s resent as of %s, granted at %s", name, ev.Time, grantedAt[name])
		}
		after[name] = ev.EntityVersion
	}
	tombstones := map[string]int64{}
	for _, name := range []string{c2Billing, ghost} {
		previous := int64(0)
		if name == c2Billing {
			previous = revoked.EntityVersion
		}
		ev, st := lastAccess(t, s.JetStream, name, previous)
		subject, clientID, _ := strings.Cut(strings.TrimPrefix(name, "iam.acme.consent.clientaccess."), "~")
		if !ev.Deleted || ev.Type != "dev.iamplane.clientaccess.deleted.v1" || !st.Deleted || st.Tenant != "acme" ||
			st.Subject != subject || st.ClientId != clientID || st.Scopes == nil || len(st.Scopes) != 0 {
			t.Errorf("tombstone of %s: %+v %s", name, ev, ev.Data)
		}
		if time.Since(ev.Time) > time.Minute || ev.Time.Before(revoked.Time) {
			t.Errorf("tombstone of %s as of %s: not now", name, ev.Time)
		}
		tombstones[name] = ev.EntityVersion
	}
	// One recording: consecutive versions, in the order the subjects were named.
	resent := []int64{after[c1Billing], after[c1CRM], tombstones[c2Billing], tombstones[ghost]}
	for i := 1; i < len(resent); i++ {
		if resent[i] != resent[0]+int64(i) {
			t.Errorf("resent at versions %v: not one recording in order", resent)
		}
	}
	// The tombstones are no live entities: the digest and list hold the two standing
	// accesses, at their new versions. Republishing changes no state and adds nothing to
	// the ledger.
	consistent("after resend", after)
	if n := len(s.ledger(t, "user-c1")) + len(s.ledger(t, "user-c2")); n != ledgerBefore {
		t.Errorf("resend added %d ledger events", n-ledgerBefore)
	}
	if v := s.verify(t); !v.Valid {
		t.Errorf("verify %+v", v)
	}
	if at := s.grantedAt(t, "user-c1", "billing"); at == nil || !at.Equal(grantedAt[c1Billing]) {
		t.Errorf("granted at %v after resend, was %s", at, grantedAt[c1Billing])
	}

	// A second resend moves the versions on again; the tombstone stays one.
	if r := testenv.AskSync(t, nc, "consent", "resend", events.SyncRequest{Tenant: "acme", Subjects: []string{ghost, c1Billing}}); r.Error != "" || r.Resent != 2 {
		t.Fatalf("second resend: %+v", r)
	}
	if ev, _ := lastAccess(t, s.JetStream, ghost, tombstones[ghost]); !ev.Deleted {
		t.Errorf("second tombstone %+v", ev)
	}
	ev, _ := lastAccess(t, s.JetStream, c1Billing, after[c1Billing])
	after[c1Billing] = ev.EntityVersion
	consistent("after the second resend", after)

	// Subjects of another tenant, area or kind, or naming no <subject>~<client>, are
	// refused, and nothing is recorded.
	for _, bad := range [][]string{
		{"iam.other.consent.clientaccess.user-c1~billing"},
		{"iam.acme.subjects.user.c1"},
		{"iam.acme.consent.grant.user-c1~billing"},
		{"iam.acme.consent.clientaccess.user-c1"},
		{"iam.acme.consent.clientaccess.~billing"},
		{"iam.acme.consent.clientaccess.user-c1~"},
		{c1Billing, "iam.acme.consent.clientaccess"},
	} {
		if r := testenv.AskSync(t, nc, "consent", "resend", events.SyncRequest{Tenant: "acme", Subjects: bad}); r.Error == "" {
			t.Errorf("resend %q: %+v, want an error", bad, r)
		}
	}
	consistent("after refused resends", after)
}

// TestResendRacingChanges resends one access while it is granted and revoked over and
// over: whatever the interleaving, the newest version (the source's published_versions
// and the stream's last event) ends up telling whether the access stands.
func TestResendRacingChanges(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	nc := s.syncConn(t)
	s.withClients(t)
	name := accessSubject("user-r", "billing")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				s.grantAccess(t, "user-r", "billing", "invoices.read")
			} else {
				s.revokeAccess(t, "user-r", "billing")
			}
		}()
		go func() {
			defer wg.Done()
			if r := testenv.AskSync(t, nc, "consent", "resend", events.SyncRequest{Tenant: "acme", Subjects: []string{name}}); r.Error != "" || r.Resent != 1 {
				t.Errorf("resend: %+v", r)
			}
		}()
	}
	wg.Wait()
	stands := s.grantedAt(t, "user-r", "billing") != nil
	l := testenv.AskSync(t, nc, "consent", "list", events.SyncRequest{Tenant: "acme", Filters: []string{name}})
	if l.Error != "" || (len(l.Entries) == 1) != stands {
		t.Fatalf("access stands: %v; the source lists %+v", stands, l)
	}
	var newest int64
	if err := s.DB.Get(&newest, `SELECT version FROM published_versions WHERE subject = $1`, name); err != nil {
		t.Fatal(err)
	}
	ev, st := lastAccess(t, s.JetStream, name, newest-1)
	if ev.EntityVersion != newest || ev.Deleted == stands || st.Deleted == stands {
		t.Errorf("access stands: %v; the stream ends with version %d (newest %d) deleted=%v", stands, ev.EntityVersion, newest, ev.Deleted)
	}
}

// TestResendWaitsForAChangeInFlight holds a grant open after it recorded its event and
// before it commits (a transaction taking GrantClientAccess's steps: the row, the
// tenant's ledger lock, the event): a resend of that access must wait for it and then
// republish the access, never record a tombstone that overtakes the grant's event.
func TestResendWaitsForAChangeInFlight(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	nc := s.syncConn(t)
	s.withClients(t)
	ctx := context.Background()
	name := accessSubject("user-w", "billing")

	tx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.Exec(`INSERT INTO client_access (tenant, subject, client_id, scopes, granted_at)
		VALUES ('acme', 'user-w', 'billing', '{invoices.read}', now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO ledger_heads (tenant, seq, hash) VALUES ('acme', 0, repeat('0', 64)) ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SELECT 1 FROM ledger_heads WHERE tenant = 'acme' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	grant, err := events.New("/iam/consent", events.Entity{Tenant: "acme", Area: "consent", Kind: "clientaccess", ID: "user-w~billing"}, 0, false,
		schema.ClientAccessState{Tenant: "acme", Subject: "user-w", ClientId: "billing", Scopes: []string{"invoices.read"}})
	if err != nil {
		t.Fatal(err)
	}
	recorded := []events.Envelope{grant}
	if err := events.Record(ctx, tx, recorded...); err != nil {
		t.Fatal(err)
	}
	grant = recorded[0] // with its version

	replied := make(chan events.SyncReply, 1)
	go func() {
		replied <- testenv.AskSync(t, nc, "consent", "resend", events.SyncRequest{Tenant: "acme", Subjects: []string{name}})
	}()
	select {
	case r := <-replied:
		t.Fatalf("resend answered %+v while a grant of the access was in flight", r)
	case <-time.After(500 * time.Millisecond):
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if r := <-replied; r.Error != "" || r.Resent != 1 {
		t.Fatalf("resend: %+v", r)
	}
	var newest struct {
		Version int64 `db:"version"`
		Deleted bool  `db:"deleted"`
	}
	if err := s.DB.Get(&newest, `SELECT version, deleted FROM published_versions WHERE subject = $1`, name); err != nil {
		t.Fatal(err)
	}
	if newest.Deleted || newest.Version <= grant.EntityVersion {
		t.Errorf("after the grant (version %d) and the resend, the newest version is %+v", grant.EntityVersion, newest)
	}
	if ev, st := lastAccess(t, s.JetStream, name, grant.EntityVersion); ev.Deleted || !slices.Equal(st.Scopes, []string{"invoices.read"}) {
		t.Errorf("the stream ends with %+v %s", ev, ev.Data)
	}
}
