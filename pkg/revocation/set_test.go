package revocation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/auth"
	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
	"github.com/iamplane/iam/pkg/revocation"
)

var t0 = time.Unix(1_800_000_000, 0).UTC()

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func ev(tb testing.TB, version int64, when time.Time, area, kind, id string, deleted bool, data any) events.Envelope {
	tb.Helper()
	owners := map[string]string{}
	for _, a := range events.Areas() {
		owners[a.Name] = a.Service
	}
	e, err := events.New(events.SourceOf(owners[area]), events.Entity{Tenant: "acme", Area: area, Kind: kind, ID: id}, version, deleted, data)
	if err != nil {
		tb.Fatal(err)
	}
	e.Time = when
	return e
}

func revoked(tb testing.TB, v int64, when time.Time, jti string, exp time.Time) events.Envelope {
	return ev(tb, v, when, "clients", "revocation", jti, false,
		schema.TokenRevocationState{Jti: jti, Tenant: "acme", ClientId: "c1", Subject: "client-c1", ExpiresAt: exp})
}

func clientGone(tb testing.TB, v int64, when time.Time, id string) events.Envelope {
	return ev(tb, v, when, "clients", "client", id, true, schema.ClientState{ClientId: id, Tenant: "acme", Deleted: true})
}

func clientUpserted(tb testing.TB, v int64, when time.Time, id string) events.Envelope {
	return ev(tb, v, when, "clients", "client", id, false, schema.ClientState{ClientId: id, Tenant: "acme", ClientName: id})
}

func user(tb testing.TB, v int64, when time.Time, id string, locked bool) events.Envelope {
	return ev(tb, v, when, "subjects", "user", id, false,
		schema.UserState{Id: id, SubjectId: "user-" + id, Tenant: "acme", DisplayName: id, IsAccountLocked: &locked})
}

func userGone(tb testing.TB, v int64, when time.Time, id string) events.Envelope {
	return ev(tb, v, when, "subjects", "user", id, true, schema.UserState{Id: id, SubjectId: "user-" + id, Tenant: "acme", Deleted: true})
}

func access(tb testing.TB, v int64, when time.Time, subject, client string, deleted bool) events.Envelope {
	return ev(tb, v, when, "consent", "clientaccess", subject+"~"+client, deleted,
		schema.ClientAccessState{Tenant: "acme", Subject: subject, ClientId: client, Scopes: []string{}, Deleted: deleted})
}

func secret(tb testing.TB, v int64, when time.Time, id, client string, deleted bool) events.Envelope {
	return ev(tb, v, when, "clients", "clientsecret", id, deleted,
		schema.ClientSecretState{SecretId: id, ClientId: client, Tenant: "acme", Deleted: deleted})
}

type token struct {
	tenant, jti, client, sub, secret string
	iat                              int
}

func (k token) claims() *auth.Claims {
	tenant := k.tenant
	if tenant == "" {
		tenant = "acme"
	}
	return &auth.Claims{Tenant: tenant, ID: k.jti, ClientID: k.client, Subject: k.sub, SecretID: k.secret, IssuedAt: at(k.iat).Unix()}
}

func TestSetRefusesWhatWasRevoked(t *testing.T) {
	type check struct {
		tok    token
		reason string // "" = accepted
	}
	cases := []struct {
		name   string
		events func(testing.TB) []events.Envelope
		checks []check
	}{{
		name: "a revoked jti, only that token, only in its tenant",
		events: func(tb testing.TB) []events.Envelope {
			return []events.Envelope{revoked(tb, 1, at(10), "j1", at(3600))}
		},
		checks: []check{
			{token{jti: "j1", client: "c1", sub: "client-c1"}, "the token was revoked"},
			{token{jti: "j2", client: "c1", sub: "client-c1"}, ""},
			{token{tenant: "globex", jti: "j1", client: "c1", sub: "client-c1"}, ""},
		},
	}, {
		name:   "a deleted client: its tokens issued up to the deletion's second",
		events: func(tb testing.TB) []events.Envelope { return []events.Envelope{clientGone(tb, 5, at(100), "c1")} },
		checks: []check{
			{token{jti: "a", client: "c1", sub: "client-c1", iat: 0}, "its client was deleted"},
			{token{jti: "b", client: "c1", sub: "client-c1", iat: 100}, "its client was deleted"},
			{token{jti: "c", client: "c1", sub: "client-c1", iat: 101}, ""}, // a client re-created under the same id
			{token{jti: "d", client: "c2", sub: "client-c2", iat: 0}, ""},
		},
	}, {
		name: "a client upsert after its tombstone does not lift the cut-off",
		events: func(tb testing.TB) []events.Envelope {
			return []events.Envelope{clientGone(tb, 5, at(100), "c1"), clientUpserted(tb, 6, at(200), "c1")}
		},
		checks: []check{
			{token{jti: "a", client: "c1", sub: "client-c1", iat: 50}, "its client was deleted"},
			{token{jti: "b", client: "c1", sub: "client-c1", iat: 150}, ""},
		},
	}, {
		name:   "a locked user: every token while locked",
		events: func(tb testing.TB) []events.Envelope { return []events.Envelope{user(tb, 3, at(100), "u1", true)} },
		checks: []check{
			{token{jti: "a", client: "web", sub: "user-u1", iat: 50}, "its user was deleted or locked"},
			{token{jti: "b", client: "web", sub: "user-u1", iat: 500}, "its user was deleted or locked"},
			{token{jti: "c", client: "web", sub: "user-u2", iat: 50}, ""},
		},
	}, {
		name: "an unlock lifts the lock for tokens issued from the unlock on only",
		events: func(tb testing.TB) []events.Envelope {
			return []events.Envelope{user(tb, 3, at(100), "u1", true), user(tb, 4, at(200), "u1", false)}
		},
		checks: []check{
			{token{jti: "a", client: "web", sub: "user-u1", iat: 50}, "its user was deleted or locked"},
			{token{jti: "b", client: "web", sub: "user-u1", iat: 199}, "its user was deleted or locked"},
			{token{jti: "c", client: "web", sub: "user-u1", iat: 200}, ""},
		},
	}, {
		name: "an unlock older than the lock (events reordered) leaves the user locked",
		events: func(tb testing.TB) []events.Envelope {
			return []events.Envelope{user(tb, 5, at(300), "u1", true), user(tb, 4, at(200), "u1", false)}
		},
		checks: []check{{token{jti: "a", client: "web", sub: "user-u1", iat: 400}, "its user was deleted or locked"}},
	}, {
		name: "a lock older than the unlock (events reordered) does not lock again, but its cut-off stands",
		events: func(tb testing.TB) []events.Envelope {
			return []events.Envelope{user(tb, 4, at(200), "u1", false), user(tb, 3, at(100), "u1", true)}
		},
		checks: []check{
			{token{jti: "a", client: "web", sub: "user-u1", iat: 100}, "its user was deleted or locked"},
			{token{jti: "b", client: "web", sub: "user-u1", iat: 250}, ""},
		},
	}, {
		name: "a plain user update refuses nothing",
		events: func(tb testing.TB) []events.Envelope {
			return []events.Envelope{user(tb, 1, at(100), "u1", false), user(tb, 2, at(150), "u1", false)}
		},
		checks: []check{{token{jti: "a", client: "web", sub: "user-u1", iat: 50}, ""}},
	}, {
		name:   "a deleted user: tokens issued before",
		events: func(tb testing.TB) []events.Envelope { return []events.Envelope{userGone(tb, 9, at(100), "u1")} },
		checks: []check{
			{token{jti: "a", client: "web", sub: "user-u1", iat: 100}, "its user was deleted or locked"},
			{token{jti: "b", client: "web", sub: "user-u1", iat: 101}, ""},
		},
	}, {
		name: "withdrawn client access: that client's tokens for that subject",
		events: func(tb testing.TB) []events.Envelope {
			return []events.Envelope{access(tb, 2, at(100), "user-u1", "app", true)}
		},
		checks: []check{
			{token{jti: "a", client: "app", sub: "user-u1", iat: 50}, "the subject withdrew the client's access"},
			{token{jti: "b", client: "app", sub: "user-u1", iat: 500}, "the subject withdrew the client's access"},
			{token{jti: "c", client: "other", sub: "user-u1", iat: 50}, ""},
			{token{jti: "d", client: "app", sub: "user-u2", iat: 50}, ""},
		},
	}, {
		name: "a re-grant lets tokens issued from it on through",
		events: func(tb testing.TB) []events.Envelope {
			return []events.Envelope{access(tb, 2, at(100), "user-u1", "app", true), access(tb, 3, at(200), "user-u1", "app", false)}
		},
		checks: []check{
			{token{jti: "a", client: "app", sub: "user-u1", iat: 100}, "the subject withdrew the client's access"},
			{token{jti: "b", client: "app", sub: "user-u1", iat: 199}, "the subject withdrew the client's access"},
			{token{jti: "c", client: "app", sub: "user-u1", iat: 200}, ""},
		},
	}, {
		name: "a revoked secret: every token issued with it, not the client's others",
		events: func(tb testing.TB) []events.Envelope {
			return []events.Envelope{secret(tb, 1, at(10), "sA", "c1", false), secret(tb, 2, at(10), "sB", "c1", false),
				secret(tb, 3, at(100), "sA", "c1", true)}
		},
		checks: []check{
			{token{jti: "a", client: "c1", sub: "client-c1", secret: "sA", iat: 50}, "the client secret it was issued for was revoked"},
			{token{jti: "b", client: "c1", sub: "client-c1", secret: "sA", iat: 101}, "the client secret it was issued for was revoked"},
			{token{jti: "c", client: "c1", sub: "client-c1", secret: "sB", iat: 50}, ""},
			{token{jti: "d", client: "c1", sub: "client-c1", iat: 50}, ""}, // private_key_jwt: no secret
			{token{tenant: "globex", jti: "e", client: "c1", sub: "client-c1", secret: "sA", iat: 50}, ""},
		},
	}, {
		name: "a secret added refuses nothing",
		events: func(tb testing.TB) []events.Envelope {
			return []events.Envelope{secret(tb, 1, at(10), "sA", "c1", false)}
		},
		checks: []check{{token{jti: "a", client: "c1", sub: "client-c1", secret: "sA", iat: 50}, ""}},
	}, {
		name: "a first grant refuses nothing",
		events: func(tb testing.TB) []events.Envelope {
			return []events.Envelope{access(tb, 2, at(100), "user-u1", "app", false)}
		},
		checks: []check{{token{jti: "a", client: "app", sub: "user-u1", iat: 50}, ""}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := revocation.NewSet(time.Hour)
			for _, e := range tc.events(t) {
				if err := s.Apply(e); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range tc.checks {
				err := s.Check(c.tok.claims())
				switch {
				case c.reason == "" && err != nil:
					t.Errorf("%+v refused: %v", c.tok, err)
				case c.reason != "" && (err == nil || !errs.Is(err, errs.Unauthorized) ||
					!strings.Contains(err.Error(), "revoked") || !strings.Contains(err.Error(), c.reason)):
					t.Errorf("%+v: got %v, want unauthorized %q", c.tok, err, c.reason)
				}
			}
		})
	}
}

func TestSetRefusesMislabelledEvents(t *testing.T) {
	s := revocation.NewSet(time.Hour)
	bad := revoked(t, 1, at(0), "j1", at(3600))
	bad.Data = []byte(`{"jti":"j2","tenant":"acme","clientId":"c","subject":"s","expiresAt":"2030-01-01T00:00:00Z"}`)
	if err := s.Apply(bad); err == nil {
		t.Error("a revocation of another jti than its subject's was applied")
	}
	noTime := clientGone(t, 1, at(0), "c1")
	noTime.Time = time.Time{}
	if err := s.Apply(noTime); err == nil {
		t.Error("an event without a time was applied")
	}
	badSecret := secret(t, 1, at(0), "sA", "c1", true)
	badSecret.Data = []byte(`{"secretId":"sB","clientId":"c1","tenant":"acme","deleted":true}`)
	if err := s.Apply(badSecret); err == nil {
		t.Error("a revocation of another secret than its subject's was applied")
	}
	if s.Len() != 0 {
		t.Errorf("entries: %d", s.Len())
	}
}

func TestPruneForgetsWhatCoversNoLiveToken(t *testing.T) {
	s := revocation.NewSet(time.Hour)
	for _, e := range []events.Envelope{
		revoked(t, 1, at(0), "j1", at(3600)),
		clientGone(t, 2, at(0), "c1"),
		user(t, 3, at(0), "locked", true),
		user(t, 4, at(0), "u2", true), user(t, 5, at(10), "u2", false),
		access(t, 6, at(0), "user-u1", "app", true),
		secret(t, 7, at(0), "sA", "c1", true),
	} {
		if err := s.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	s.Prune(at(3600))
	if s.Len() != 6 {
		t.Fatalf("pruned too early: %d entries", s.Len())
	}
	s.Prune(at(3600 + 10 + 61).Add(revocation.Leeway))
	// The standing blocks (a locked user, a withdrawn access) stay; the rest is gone.
	if s.Len() != 2 {
		t.Fatalf("entries after the horizon: %d, want 2", s.Len())
	}
	if err := s.Check(token{jti: "x", client: "web", sub: "user-locked", iat: 9000}.claims()); err == nil {
		t.Error("a locked user's token accepted after pruning")
	}
}

func TestCheckHoldsTokensUntilCaughtUpOrTheBound(t *testing.T) {
	s := revocation.NewSet(time.Hour)
	expired := 0
	s.HoldUntilCaughtUp(time.Hour, func() { expired++ })
	tok := token{jti: "j", client: "c", sub: "client-c"}.claims()
	if err := s.Check(tok); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("before catch-up: %v", err)
	}
	s.MarkCaughtUp()
	if err := s.Check(tok); err != nil {
		t.Fatalf("after catch-up: %v", err)
	}

	s = revocation.NewSet(time.Hour)
	s.HoldUntilCaughtUp(0, func() { expired++ })
	for range 3 {
		if err := s.Check(tok); err != nil {
			t.Fatalf("past the bound: %v", err)
		}
	}
	if expired != 1 {
		t.Errorf("the bound's expiry ran %d times", expired)
	}
}

func BenchmarkCheck(b *testing.B) {
	s := revocation.NewSet(time.Hour)
	for i := range 10000 {
		id := strings.Repeat("x", 8) + string(rune('a'+i%26)) + time.Duration(i).String()
		_ = s.Apply(revoked(b, int64(i), at(0), id, at(3600)))
		_ = s.Apply(clientGone(b, int64(i), at(0), "c"+id))
	}
	s.MarkCaughtUp()
	c := token{jti: "live", client: "app", sub: "user-u1", iat: 10}.claims()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := s.Check(c); err != nil {
			b.Fatal(err)
		}
	}
}
