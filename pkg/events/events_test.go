package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"
	"github.com/iamplane/iam/pkg/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// world is a migrated database and a JetStream server with the platform's streams.
type world struct {
	db   *sqlx.DB
	dsn  string
	js   jetstream.JetStream
	nats interface {
		Stop()
		Restart() error
		URL() string
	}
}

func mustWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	dsn := testenv.NewDatabase(t)
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	viewMigration := fstest.MapFS{"00001_view.sql": {Data: []byte("-- +goose Up\nCREATE TABLE view (id text PRIMARY KEY, name text NOT NULL);\n")}}
	if err := postgres.Migrate(ctx, db, viewMigration, testenv.Logger(t)); err != nil {
		t.Fatal(err)
	}
	srv := testenv.NewNATS(t)
	nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.RetryOnFailedConnect(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	if err := events.EnsureStreams(ctx, js, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	return &world{db: db, dsn: dsn, js: js, nats: srv}
}

func (w *world) record(t *testing.T, evs ...events.Envelope) {
	t.Helper()
	if err := postgres.InTx(context.Background(), w.db, func(tx *sqlx.Tx) error {
		return events.Record(context.Background(), tx, evs...)
	}); err != nil {
		t.Fatal(err)
	}
}

func (w *world) run(t testing.TB, runner interface{ Run(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = runner.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func thing(t testing.TB, tenant, id string, version int64, deleted bool, name string) events.Envelope {
	t.Helper()
	ev, err := events.New("/test", events.Entity{Tenant: tenant, Area: "things", Kind: "thing", ID: id}, version, deleted, map[string]string{"name": name})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not within 10s: %s", what)
}

func (w *world) unsent(t *testing.T) int {
	var n int
	if err := w.db.Get(&n, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRelayPublishesAndSurvivesNATSOutage(t *testing.T) {
	w := mustWorld(t)
	ctx := context.Background()
	// Two relays, as two replicas would run: the advisory lock keeps one publishing.
	for range 2 {
		w.run(t, &events.Relay{DB: w.db, JS: w.js, DSN: w.dsn, Logger: testenv.Logger(t), Poll: 50 * time.Millisecond})
	}
	w.record(t, thing(t, "acme", "a", 1, false, "one"))
	eventually(t, "first event sent", func() bool { return w.unsent(t) == 0 })

	w.nats.Stop()
	w.record(t, thing(t, "acme", "a", 2, false, "two"), thing(t, "acme", "b", 1, false, "bee"))
	time.Sleep(300 * time.Millisecond)
	if n := w.unsent(t); n != 2 {
		t.Fatalf("%d unsent while NATS is down, want 2 kept", n)
	}
	if err := w.nats.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "backlog sent after NATS returned", func() bool { return w.unsent(t) == 0 })
	stream, _ := w.js.Stream(ctx, events.StreamName)
	last, err := stream.GetLastMsgForSubject(ctx, "iam.acme.things.thing.a")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.Envelope
	_ = json.Unmarshal(last.Data, &ev)
	if ev.EntityVersion != 2 {
		t.Errorf("last event of a is version %d, want 2", ev.EntityVersion)
	}
	info, _ := stream.Info(ctx)
	if info.State.Msgs != 2 {
		t.Errorf("stream holds %d messages, want one per entity (2)", info.State.Msgs)
	}
}

func TestRelayDeduplicatesRepublishedRows(t *testing.T) {
	w := mustWorld(t)
	ctx := context.Background()
	ev := thing(t, "acme", "a", 1, false, "one")
	w.record(t, ev)
	w.run(t, &events.Relay{DB: w.db, JS: w.js, DSN: w.dsn, Logger: testenv.Logger(t), Poll: 50 * time.Millisecond})
	eventually(t, "sent", func() bool { return w.unsent(t) == 0 })
	// A crash after publish but before commit leaves the row unsent: it goes out again.
	if _, err := w.db.Exec(`UPDATE outbox SET sent_at = NULL`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(`SELECT pg_notify('outbox', '')`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "re-sent", func() bool { return w.unsent(t) == 0 })
	stream, _ := w.js.Stream(ctx, events.StreamName)
	info, _ := stream.Info(ctx)
	if info.State.LastSeq != 1 {
		t.Errorf("stream sequence %d: the republished event was not deduplicated", info.State.LastSeq)
	}
}

func TestConsumerAppliesNewestVersionOnly(t *testing.T) {
	w := mustWorld(t)
	ctx := context.Background()
	apply := func(ctx context.Context, tx *sqlx.Tx, ev events.Envelope) error {
		if ev.Deleted {
			_, err := tx.ExecContext(ctx, `DELETE FROM view WHERE id = $1`, ev.EntityID())
			return err
		}
		var d struct{ Name string }
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return err
		}
		if d.Name == "poison" {
			return errPoison
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO view VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, ev.EntityID(), d.Name)
		return err
	}
	w.run(t, &events.Consumer{Name: "test-view", Subjects: []string{"iam.*.things.thing.*"}, DB: w.db, JS: w.js, Apply: apply,
		Logger: testenv.Logger(t), MaxDeliver: 2, AckWait: time.Second})

	publish := func(subject string, ev events.Envelope) {
		t.Helper()
		raw, _ := json.Marshal(ev)
		if _, err := w.js.Publish(ctx, subject, raw); err != nil {
			t.Fatal(err)
		}
	}
	name := func(id string) string {
		var n string
		_ = w.db.Get(&n, `SELECT name FROM view WHERE id = $1`, id)
		return n
	}
	v1, v2, v3 := thing(t, "acme", "a", 1, false, "one"), thing(t, "acme", "a", 2, false, "two"), thing(t, "acme", "a", 3, false, "three")
	// The stream keeps one message per subject, so each redelivery is sent after the
	// consumer has applied what it must not undo; a marker on another subject shows when
	// the consumer has caught up.
	marker := func(n int) {
		t.Helper()
		m := thing(t, "acme", "marker", int64(n), false, fmt.Sprint("marker ", n))
		publish(m.Subject, m)
		eventually(t, "marker applied", func() bool { return name("marker") == fmt.Sprint("marker ", n) })
	}
	publish(v2.Subject, v2)
	eventually(t, "version 2 applied", func() bool { return name("a") == "two" })
	publish(v2.Subject, v2) // duplicate
	publish(v1.Subject, v1) // late, older
	marker(1)
	if name("a") != "two" {
		t.Fatalf("a duplicate or older event changed the view: %q", name("a"))
	}
	publish(v3.Subject, v3)
	eventually(t, "version 3 applied", func() bool { return name("a") == "three" })

	tomb := thing(t, "acme", "a", 4, true, "")
	publish(tomb.Subject, tomb)
	eventually(t, "tombstone applied", func() bool { return name("a") == "" })
	publish(v3.Subject, v3) // a late update never resurrects a deleted entity
	marker(2)
	if name("a") != "" {
		t.Error("a stale update resurrected a deleted entity")
	}

	// An event claiming another tenant than its subject, and one that keeps failing, are
	// dead-lettered; the stream flows on.
	forged := thing(t, "globex", "x", 1, false, "forged")
	publish("iam.acme.things.thing.x", forged)
	poison := thing(t, "acme", "p", 1, false, "poison")
	publish(poison.Subject, poison)
	after := thing(t, "acme", "after", 1, false, "after")
	publish(after.Subject, after)
	eventually(t, "events after poison applied", func() bool { return name("after") == "after" })
	if name("x") != "" {
		t.Error("an event for another tenant was applied")
	}
	dlq, _ := w.js.Stream(ctx, events.DeadLetterStream)
	eventually(t, "both dead-lettered", func() bool {
		info, err := dlq.Info(ctx)
		return err == nil && info.State.Msgs == 2
	})
}

var errPoison = &poisonError{}

type poisonError struct{}

func (*poisonError) Error() string { return "poison" }

// TestEnsureStreamsLeavesCurrentStreamsAlone: a second start-up finds the streams as wanted
// and does not update them (no update advisory); an update would race other services'
// consumer set-up inside nats-server.
func TestEnsureStreamsLeavesCurrentStreamsAlone(t *testing.T) {
	srv := testenv.NewNATS(t)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if err := events.EnsureStreams(ctx, js, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	updates, err := nc.SubscribeSync("$JS.EVENT.ADVISORY.STREAM.UPDATED.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := events.EnsureStreams(ctx, js, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if msg, err := updates.NextMsg(300 * time.Millisecond); err == nil {
		t.Errorf("a stream already as wanted was updated: %s", msg.Subject)
	}
	// The control: a real change is still applied, and is seen.
	if _, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: events.DeadLetterStream, Subjects: []string{"iamdlq.>"}, MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := events.EnsureStreams(ctx, js, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, events.DeadLetterStream)
	if err != nil || st.CachedInfo().Config.MaxAge != 30*24*time.Hour {
		t.Errorf("a changed stream was not put back: %v %+v", err, st)
	}
}
