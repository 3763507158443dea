package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/natsembed"
	"github.com/iamplane/iam/pkg/postgres"
	"github.com/iamplane/iam/pkg/testenv"
)

// conn connects as one NATS identity and collects the permission violations the server
// reports to it.
type conn struct {
	js jetstream.JetStream
	nc *nats.Conn

	mu         sync.Mutex
	violations []string
}

func connect(t *testing.T, url string) *conn {
	t.Helper()
	c := &conn{}
	nc, err := nats.Connect(url, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrPermissionViolation) {
			c.mu.Lock()
			c.violations = append(c.violations, err.Error())
			c.mu.Unlock()
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c.nc = nc
	if c.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return c
}

// refused asserts the server reported a publish permission violation on subject.
func (c *conn) refused(t *testing.T, subject string) {
	t.Helper()
	eventually(t, "permission violation for "+subject, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, v := range c.violations {
			if strings.Contains(v, "Publish") && strings.Contains(v, `"`+subject+`"`) {
				return true
			}
		}
		return false
	})
}

func event(t *testing.T, service, tenant, area, kind, id string, version int64) (events.Envelope, []byte) {
	t.Helper()
	ev, err := events.New(events.SourceOf(service), events.Entity{Tenant: tenant, Area: area, Kind: kind, ID: id}, version, false, map[string]string{"id": id})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(ev)
	return ev, raw
}

func inStream(t *testing.T, js jetstream.JetStream, subject string) bool {
	t.Helper()
	stream, err := js.Stream(context.Background(), events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	_, err = stream.GetLastMsgForSubject(context.Background(), subject)
	if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func streamsAsAdmin(t *testing.T, ns *natsembed.Server) *conn {
	t.Helper()
	admin := connect(t, ns.URL())
	if err := events.EnsureStreams(context.Background(), admin.js, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	return admin
}

func TestServicePublishesOnlyOnItsOwnSubjects(t *testing.T) {
	ns := testenv.NewNATS(t)
	admin := streamsAsAdmin(t, ns)
	subjects := connect(t, ns.URLFor("iam-subjects"))
	ctx := context.Background()

	own, raw := event(t, "iam-subjects", "acme", "subjects", "user", "x", 1)
	if _, err := subjects.js.Publish(ctx, own.Subject, raw); err != nil {
		t.Fatalf("iam-subjects publishing on its own subject: %v", err)
	}
	if !inStream(t, admin.js, own.Subject) {
		t.Fatal("own event not in the stream")
	}

	// Posing as oauth-clients, with oauth-clients' source even: refused by the server.
	forged, raw := event(t, "oauth-clients", "acme", "clients", "client", "x", 99)
	pubCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := subjects.js.Publish(pubCtx, forged.Subject, raw); err == nil {
		t.Fatal("iam-subjects published on iam.acme.clients.client.x")
	}
	subjects.refused(t, forged.Subject)
	if inStream(t, admin.js, forged.Subject) {
		t.Fatal("a refused event reached the stream")
	}
	// Nor may it touch the streams' configuration beyond creating and updating its own.
	if err := subjects.js.DeleteStream(ctx, events.StreamName); err == nil {
		t.Fatal("a service deleted the IAM stream")
	}
	subjects.refused(t, "$JS.API.STREAM.DELETE.IAM")
}

func TestReaderConsumesButPublishesNothing(t *testing.T) {
	ns := testenv.NewNATS(t)
	admin := streamsAsAdmin(t, ns)
	ctx := context.Background()
	ev, raw := event(t, "iam-subjects", "acme", "subjects", "group", "ops", 3)
	if _, err := admin.js.Publish(ctx, ev.Subject, raw); err != nil {
		t.Fatal(err)
	}

	reader := connect(t, ns.URLFor(events.ReaderUser))
	for _, subject := range []string{"iam.acme.subjects.group.ops", "iam.acme.clients.client.x", "iamdlq.x.iam.acme.subjects.group.ops"} {
		if err := reader.nc.Publish(subject, raw); err != nil {
			t.Fatal(err)
		}
		reader.refused(t, subject)
	}
	if got := consumeOne(t, reader.js, "other-team", "iam.acme.subjects.>"); got != ev.ID {
		t.Fatalf("reader read %q, want %q", got, ev.ID)
	}
	// The ack arrived: the durable has nothing pending for the next reader replica.
	cons, err := reader.js.Consumer(ctx, events.StreamName, "other-team")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "reader's ack recorded", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.AckFloor.Stream == 1 && info.NumAckPending == 0
	})
	stream, _ := admin.js.Stream(ctx, events.StreamName)
	if info, _ := stream.Info(ctx); info.State.Msgs != 1 {
		t.Fatalf("stream holds %d messages, want only the admin's 1", info.State.Msgs)
	}
	if _, err := reader.js.CreateStream(ctx, jetstream.StreamConfig{Name: "MINE", Subjects: []string{"iam.acme.>"}}); err == nil {
		t.Fatal("the reader created a stream")
	}
}

// consumeOne attaches a durable consumer as other teams do (tools/cmd/iam-events), takes
// one event and acknowledges it.
func consumeOne(t *testing.T, js jetstream.JetStream, durable, filter string) string {
	t.Helper()
	ctx := context.Background()
	cons, err := js.CreateOrUpdateConsumer(ctx, events.StreamName, jetstream.ConsumerConfig{
		Durable: durable, FilterSubjects: []string{filter}, AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatalf("create consumer: %v", err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	msg, ok := <-batch.Messages()
	if !ok {
		t.Fatalf("no event: %v", batch.Error())
	}
	ev, err := events.Parse(msg.Subject(), msg.Data())
	if err != nil {
		t.Fatal(err)
	}
	if err := msg.DoubleAck(ctx); err != nil {
		t.Fatalf("ack: %v", err)
	}
	return ev.ID
}

// Each service, with nothing but its own credentials, creates the streams, relays its
// outbox, runs a durable consumer that applies events and dead-letters one whose source
// is not the owner of its area, and follows its subjects with an ordered consumer (as
// oauth-clients' credentials cache does).
func TestEachServiceRunsWithItsOwnCredentials(t *testing.T) {
	ns := testenv.NewNATS(t)
	admin := connect(t, ns.URL())
	ctx := context.Background()
	for _, area := range events.Areas() {
		t.Run(area.Service, func(t *testing.T) {
			svc := connect(t, ns.URLFor(area.Service))
			if err := events.EnsureStreams(ctx, svc.js, events.StreamOptions{}); err != nil {
				t.Fatalf("ensure streams: %v", err)
			}
			dsn := testenv.NewDatabase(t)
			db, err := postgres.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			view := fstest.MapFS{"00001_view.sql": {Data: []byte("-- +goose Up\nCREATE TABLE view (id text PRIMARY KEY);\n")}}
			if err := postgres.Migrate(ctx, db, view, testenv.Logger(t)); err != nil {
				t.Fatal(err)
			}
			runCtx, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			t.Cleanup(func() { cancel(); wg.Wait() })
			run := func(r interface{ Run(context.Context) error }) {
				wg.Add(1)
				go func() { defer wg.Done(); _ = r.Run(runCtx) }()
			}

			// Follow this area from now on, as the credentials cache does.
			ordered, err := svc.js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{
				FilterSubjects: []string{"iam.*." + area.Name + ".thing.*", "iam.*." + area.Name + ".other.*"},
				DeliverPolicy:  jetstream.DeliverNewPolicy,
			})
			if err != nil {
				t.Fatalf("ordered consumer: %v", err)
			}
			follow, err := ordered.Messages()
			if err != nil {
				t.Fatal(err)
			}
			defer follow.Stop()

			run(&events.Relay{DB: db, JS: svc.js, DSN: dsn, Logger: testenv.Logger(t), Poll: 50 * time.Millisecond})
			run(&events.Consumer{Name: area.Service + "-test", Subjects: []string{"iam.*." + area.Name + ".thing.*"}, DB: db, JS: svc.js,
				Logger: testenv.Logger(t), Apply: func(ctx context.Context, tx *sqlx.Tx, ev events.Envelope) error {
					_, err := tx.ExecContext(ctx, `INSERT INTO view (id) VALUES ($1) ON CONFLICT DO NOTHING`, ev.EntityID())
					return err
				}})

			// A stray event in the area with another service's source, published by
			// someone with full rights: the consumer dead-letters it with its own rights.
			stray, raw := event(t, "someone-else", "acme", area.Name, "thing", "stray", 1)
			if _, err := admin.js.Publish(ctx, stray.Subject, raw); err != nil {
				t.Fatal(err)
			}
			ev, _ := event(t, area.Service, "acme", area.Name, "thing", "a", 1)
			if err := postgres.InTx(ctx, db, func(tx *sqlx.Tx) error { return events.Record(ctx, tx, ev) }); err != nil {
				t.Fatal(err)
			}
			eventually(t, "own event relayed and applied", func() bool {
				var n int
				_ = db.Get(&n, `SELECT count(*) FROM view WHERE id = 'a'`)
				return n == 1
			})
			msg, err := follow.Next()
			if err != nil || msg.Subject() == "" {
				t.Fatalf("ordered consumer: %v", err)
			}
			dlq, err := admin.js.Stream(ctx, events.DeadLetterStream)
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, "stray event dead-lettered", func() bool {
				m, err := dlq.GetLastMsgForSubject(ctx, "iamdlq."+area.Service+"-test."+stray.Subject)
				return err == nil && strings.Contains(m.Header.Get("Iam-Dead-Letter-Reason"), "source")
			})
			// Both were acknowledged (the stray one terminated): nothing comes back.
			cons, err := svc.js.Consumer(ctx, events.StreamName, area.Service+"-test")
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, "both events acknowledged", func() bool {
				info, err := cons.Info(ctx)
				return err == nil && info.NumAckPending == 0 && info.NumPending == 0 && info.Delivered.Consumer == 2
			})
			var n int
			_ = db.Get(&n, `SELECT count(*) FROM view WHERE id = 'stray'`)
			if n != 0 {
				t.Fatal("an event from another source was applied")
			}
		})
	}
}

func TestParseRefusesAnotherServicesSource(t *testing.T) {
	ev, raw := event(t, "iam-subjects", "acme", "subjects", "membership", "g~u", 1)
	if _, err := events.Parse(ev.Subject, raw); err != nil {
		t.Fatalf("the owner's event: %v", err)
	}
	for _, source := range []string{"/iam/oauth-clients", "/iam/iam-subjects/", "", "/test"} {
		ev.Source = source
		raw, _ := json.Marshal(ev)
		_, err := events.Parse(ev.Subject, raw)
		if err == nil || !strings.Contains(err.Error(), `is not the owner of area "subjects" (/iam/iam-subjects)`) {
			t.Errorf("source %q: %v", source, err)
		}
	}
	unknown, raw := event(t, "iam-subjects", "acme", "stuff", "user", "x", 1)
	if _, err := events.Parse(unknown.Subject, raw); err == nil || !strings.Contains(err.Error(), "no owning service") {
		t.Errorf("unknown area: %v", err)
	}
}

func TestPermissionsFollowTheAreaTable(t *testing.T) {
	users := map[string][]string{}
	for _, u := range events.NATSUsers() {
		users[u.Name] = u.Publish
	}
	if p, ok := users[events.AdminUser]; !ok || p != nil {
		t.Fatalf("admin: %v %v", ok, p)
	}
	for _, a := range events.Areas() {
		own := 0
		for _, s := range users[a.Service] {
			if strings.HasPrefix(s, "iam.") {
				own++
				if s != "iam.*."+a.Name+".>" {
					t.Errorf("%s may publish %s", a.Service, s)
				}
			}
			if s == ">" || strings.HasSuffix(s, "API.>") || s == "$JS.>" {
				t.Errorf("%s has a wide right %s", a.Service, s)
			}
		}
		if own != 1 {
			t.Errorf("%s owns %d areas", a.Service, own)
		}
	}
	for _, s := range users[events.ReaderUser] {
		if strings.HasPrefix(s, "iam") || strings.Contains(s, "STREAM.CREATE") || strings.Contains(s, "STREAM.UPDATE") {
			t.Errorf("reader may publish %s", s)
		}
	}
	if len(users) != len(events.Areas())+2 {
		t.Errorf("users: %v", users)
	}
}
