package iampolicies_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	"github.com/iamplane/iam/pkg/testenv"

	"github.com/iamplane/iam/services/iam-policies/api"
)

// lastEvent is the stream's last event on subject, once its version is above after
// (0: any); the event and its scope set.
func lastEvent(tb testing.TB, js jetstream.JetStream, subject string, after int64) (events.Envelope, schema.ScopeSetState) {
	tb.Helper()
	ev := testenv.LastEvent(tb, js, subject, after)
	var set schema.ScopeSetState
	if err := json.Unmarshal(ev.Data, &set); err != nil {
		tb.Fatalf("%s: decode scope set %s: %v", subject, ev.Data, err)
	}
	return ev, set
}

// TestResendRepublishesScopeSets answers a view's anti-entropy requests as iam-policies'
// source: digest, tenants and list agree with the scope sets it published, and resend
// records each named set anew (a fresh version, same scopes) or a tombstone for a
// subject it holds no set for.
func TestResendRepublishesScopeSets(t *testing.T) {
	t.Parallel()
	s := mustStart(t)
	nc, err := nats.Connect(s.NATS.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	subject := func(id string) string { return "iam.acme.policies.scopes." + id }

	// user-u1: a direct grant on the root. client-c1: through its group. user-u2: a set
	// published, then emptied by a revocation (still a set, not a tombstone).
	s.grant(t, "user-u1", "/", "iam.user_read")
	s.grant(t, "group-ops", "/", "ops.run")
	s.membership(t, "ops", "client-c1", false)
	s.grant(t, "user-u2", "/", "billing.read")
	ctx := context.Background()
	if resp, err := s.admin.RevokePoliciesWithResponse(ctx, "acme", &api.RevokePoliciesParams{Subject: "user-u2"}); err != nil || resp.JSON200 == nil {
		t.Fatalf("revoke: %v", err)
	}
	want := map[string][]string{"user-u1": {"iam.user_read"}, "client-c1": {"ops.run"}, "user-u2": {}}
	published := map[string]int64{}
	for id, scopes := range want {
		within(t, 10*time.Second, "the published set of "+id, func() bool {
			ev, set := lastEvent(t, s.JetStream, subject(id), 0)
			published[subject(id)] = ev.EntityVersion
			return slices.Equal(set.Scopes, scopes)
		})
	}

	// The source side of the digests agrees with what is on the stream.
	filters := []string{"iam.acme.policies.scopes.*"}
	consistent := func(what string, versions map[string]int64) {
		t.Helper()
		if r := testenv.AskSync(t, nc, "policies", "tenants", events.SyncRequest{Filters: filters}); r.Error != "" || !slices.Equal(r.Tenants, []string{"acme"}) {
			t.Errorf("%s: tenants %+v", what, r)
		}
		testenv.CheckListed(t, nc, "policies", "acme", filters, versions, what)
		if r := testenv.AskSync(t, nc, "policies", "digest", events.SyncRequest{Tenant: "other", Filters: filters}); r.Digest == nil || r.Digest.Count != 0 {
			t.Errorf("%s: another tenant's digest %+v", what, r)
		}
	}
	consistent("before resend", published)

	// Resend: the existing sets come back with fresh versions, the unknown subject as a
	// tombstone that consumers of scope sets decode.
	names := []string{subject("user-u1"), subject("client-c1"), subject("user-u2"), subject("user-ghost")}
	if r := testenv.AskSync(t, nc, "policies", "resend", events.SyncRequest{Tenant: "acme", Subjects: names}); r.Error != "" || r.Resent != len(names) {
		t.Fatalf("resend: %+v", r)
	}
	after := map[string]int64{}
	for id, scopes := range want {
		ev, set := lastEvent(t, s.JetStream, subject(id), published[subject(id)])
		if ev.Deleted || set.Tenant != "acme" || set.Subject != id || !slices.Equal(set.Scopes, scopes) || set.Scopes == nil {
			t.Errorf("%s resent as %+v %+v, want scopes %q", id, ev, set, scopes)
		}
		if ev.Type != "dev.iamplane.scopes.upserted.v1" || ev.Source != "/iam/iam-policies" {
			t.Errorf("%s resent as type %s from %s", id, ev.Type, ev.Source)
		}
		after[subject(id)] = ev.EntityVersion
	}
	ghost, set := lastEvent(t, s.JetStream, subject("user-ghost"), 0)
	if !ghost.Deleted || ghost.Type != "dev.iamplane.scopes.deleted.v1" || set.Tenant != "acme" || set.Subject != "user-ghost" ||
		set.Scopes == nil || len(set.Scopes) != 0 {
		t.Errorf("tombstone %+v %s", ghost, ghost.Data)
	}
	// One recording: consecutive versions, in the order the subjects were named.
	for i, name := range names[:3] {
		if v := after[name]; v != ghost.EntityVersion-int64(3-i) {
			t.Errorf("%s resent at version %d, the tombstone at %d: not one recording in order", name, v, ghost.EntityVersion)
		}
	}
	// The tombstone is no live entity: the digest and list hold the three sets, at their
	// new versions.
	consistent("after resend", after)

	// A second resend moves the versions on again; the tombstone stays one.
	if r := testenv.AskSync(t, nc, "policies", "resend", events.SyncRequest{Tenant: "acme", Subjects: []string{subject("user-ghost"), subject("user-u1")}}); r.Error != "" || r.Resent != 2 {
		t.Fatalf("second resend: %+v", r)
	}
	if ev, _ := lastEvent(t, s.JetStream, subject("user-ghost"), ghost.EntityVersion); !ev.Deleted {
		t.Errorf("second tombstone %+v", ev)
	}
	ev, _ := lastEvent(t, s.JetStream, subject("user-u1"), after[subject("user-u1")])
	after[subject("user-u1")] = ev.EntityVersion
	consistent("after the second resend", after)

	// Subjects of another tenant, area or kind are refused, and nothing is recorded.
	for _, bad := range [][]string{
		{"iam.other.policies.scopes.user-u1"},
		{"iam.acme.subjects.user.u1"},
		{"iam.acme.policies.rules.user-u1"},
		{subject("user-u1"), "iam.acme.policies.scopes"},
	} {
		if r := testenv.AskSync(t, nc, "policies", "resend", events.SyncRequest{Tenant: "acme", Subjects: bad}); r.Error == "" {
			t.Errorf("resend %q: %+v, want an error", bad, r)
		}
	}
	consistent("after refused resends", after)
}
