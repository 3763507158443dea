package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"
	"github.com/iamplane/iam/pkg/testenv"
)

// A view that drifted from its source in every way a lost event, a restore or a bug can
// make it (an entity it never got, one the source no longer has, a stale version) is
// found by the reconciler's digests and repaired by the source resending current state;
// the next pass finds nothing, and the compact stream ends right too.
func TestReconcilerRepairsDrift(t *testing.T) {
	w := mustWorld(t) // w.db is the source's database
	ctx := context.Background()
	view := mustView(t)
	nc := thingsSource(t, w)
	change := func(tenant, id, name string, lose bool) {
		t.Helper()
		err := postgres.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
			if name == "" {
				_, _ = tx.ExecContext(ctx, `DELETE FROM things WHERE tenant = $1 AND id = $2`, tenant, id)
			} else if _, err := tx.ExecContext(ctx, `INSERT INTO things VALUES ($1, $2, $3) ON CONFLICT (tenant, id) DO UPDATE SET name = $3`, tenant, id, name); err != nil {
				return err
			}
			if err := events.Record(ctx, tx, thing(t, tenant, id, 0, name == "", name)); err != nil {
				return err
			}
			if lose { // the event never reaches NATS
				_, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE subject = $1`, "iam."+tenant+".things.thing."+id)
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	w.run(t, &events.Relay{DB: w.db, JS: w.js, DSN: w.dsn, Logger: testenv.Logger(t), Poll: 50 * time.Millisecond})
	consumer := view.consumer(t, w)
	w.run(t, consumer)

	for i := range 5 {
		change("acme", fmt.Sprint("a", i), "one", false)
		change("globex", fmt.Sprint("g", i), "one", false)
	}
	eventually(t, "views caught up", func() bool { return view.count(t, "") == 10 })
	change("acme", "a0", "two", true)    // a lost update: stale in the view
	change("acme", "a1", "", true)       // a lost deletion: still live in the view
	change("acme", "new", "three", true) // a lost creation: missing in the view
	change("globex", "g0", "", false)    // an ordinary deletion: no drift

	r := &events.Reconciler{DB: view.db, NATS: nc, Consumers: []*events.Consumer{consumer}, Grace: 200 * time.Millisecond,
		Logger: testenv.Logger(t)}
	eventually(t, "globex's deletion applied", func() bool { return view.count(t, "globex") == 4 })
	rep, err := r.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tenants != 2 || rep.Differing != 1 || rep.Resent != 3 {
		t.Fatalf("first pass: %+v, want 2 tenants compared, 1 differing, 3 entities resent", rep)
	}
	eventually(t, "repairs applied", func() bool {
		return view.name(t, "acme", "a0") == "two" && view.name(t, "acme", "a1") == "" && view.name(t, "acme", "new") == "three"
	})
	if rep, err := r.Pass(ctx); err != nil || rep.Differing != 0 || rep.Resent != 0 {
		t.Fatalf("second pass: %+v, %v; want nothing to repair", rep, err)
	}
	// The compact stream, which a rebuild reads, ends with the source's state too.
	stream, _ := w.js.Stream(ctx, events.StreamName)
	last, err := stream.GetLastMsgForSubject(ctx, "iam.acme.things.thing.a1")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.Envelope
	_ = json.Unmarshal(last.Data, &ev)
	if !ev.Deleted {
		t.Error("the stream's last event of a deleted thing is not a tombstone")
	}
}

// thingsSource makes w's database the source of "things" (table things is the truth;
// resend records each named thing's current state) answering iamsync requests, and
// returns the NATS connection it answers on.
func thingsSource(t *testing.T, w *world) *nats.Conn {
	t.Helper()
	if _, err := w.db.Exec(`CREATE TABLE things (tenant text, id text, name text, PRIMARY KEY (tenant, id))`); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(w.nats.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	republish := func(ctx context.Context, tx *sqlx.Tx, tenant string, entities []events.Entity) error {
		var evs []events.Envelope
		for _, e := range entities {
			var name string
			err := tx.GetContext(ctx, &name, `SELECT name FROM things WHERE tenant = $1 AND id = $2`, tenant, e.ID)
			evs = append(evs, thing(t, tenant, e.ID, 0, err != nil, name))
		}
		return events.Record(ctx, tx, evs...)
	}
	source := &events.Source{Area: "things", DB: w.db, Republish: republish, Logger: testenv.Logger(t)}
	w.run(t, runFunc(func(ctx context.Context) error { return source.Run(ctx, nc) }))
	return nc
}

// testView is a view database kept by a consumer of "things".
type testView struct{ db *sqlx.DB }

func mustView(t *testing.T) *testView {
	t.Helper()
	db, err := postgres.Open(context.Background(), testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	m := fstest.MapFS{"00001_view.sql": {Data: []byte("-- +goose Up\nCREATE TABLE view (tenant text, id text, name text NOT NULL, PRIMARY KEY (tenant, id));\n")}}
	if err := postgres.Migrate(context.Background(), db, m, testenv.Logger(t)); err != nil {
		t.Fatal(err)
	}
	return &testView{db: db}
}

func (v *testView) consumer(t *testing.T, w *world) *events.Consumer {
	apply := func(ctx context.Context, tx *sqlx.Tx, ev events.Envelope) error {
		if ev.Deleted {
			_, err := tx.ExecContext(ctx, `DELETE FROM view WHERE tenant = $1 AND id = $2`, ev.Tenant, ev.EntityID())
			return err
		}
		var d struct{ Name string }
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO view VALUES ($1, $2, $3) ON CONFLICT (tenant, id) DO UPDATE SET name = EXCLUDED.name`, ev.Tenant, ev.EntityID(), d.Name)
		return err
	}
	return &events.Consumer{Name: "things-view", Subjects: []string{"iam.*.things.thing.*"}, DB: v.db, JS: w.js, Apply: apply,
		Logger: testenv.Logger(t)}
}

func (v *testView) count(t *testing.T, tenant string) int {
	var n int
	if err := v.db.Get(&n, `SELECT count(*) FROM view WHERE $1 = '' OR tenant = $1`, tenant); err != nil {
		t.Fatal(err)
	}
	return n
}

func (v *testView) name(t *testing.T, tenant, id string) string {
	var n string
	_ = v.db.Get(&n, `SELECT name FROM view WHERE tenant = $1 AND id = $2`, tenant, id)
	return n
}

type runFunc func(context.Context) error

func (f runFunc) Run(ctx context.Context) error { return f(ctx) }

// A dead letter is re-driven by having its source resend the entity's current state once
// the cause is fixed; the dead letter is removed, and the old event is never republished.
func TestRedriveResendsDeadLetteredEntities(t *testing.T) {
	w := mustWorld(t)
	ctx := context.Background()
	view := mustView(t)
	nc := thingsSource(t, w)
	w.run(t, &events.Relay{DB: w.db, JS: w.js, DSN: w.dsn, Logger: testenv.Logger(t), Poll: 50 * time.Millisecond})
	var fixed atomic.Bool // the bug that makes the view refuse "b"
	consumer := view.consumer(t, w)
	apply := consumer.Apply
	consumer.Apply = func(ctx context.Context, tx *sqlx.Tx, ev events.Envelope) error {
		if ev.EntityID() == "b" && !fixed.Load() {
			return errors.New("a bug in the view")
		}
		return apply(ctx, tx, ev)
	}
	consumer.MaxDeliver, consumer.AckWait = 1, time.Second
	w.run(t, consumer)
	for _, id := range []string{"a", "b"} {
		if err := postgres.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO things VALUES ('acme', $1, 'one')`, id); err != nil {
				return err
			}
			return events.Record(ctx, tx, thing(t, "acme", id, 0, false, "one"))
		}); err != nil {
			t.Fatal(err)
		}
	}
	dlq, _ := w.js.Stream(ctx, events.DeadLetterStream)
	eventually(t, "b dead-lettered", func() bool {
		info, err := dlq.Info(ctx)
		return err == nil && info.State.Msgs == 1
	})
	fixed.Store(true)
	n, err := events.Redrive(ctx, nc, w.js, "things-view")
	if err != nil || n != 1 {
		t.Fatalf("Redrive = %d, %v; want 1", n, err)
	}
	eventually(t, "b applied after the re-drive", func() bool { return view.name(t, "acme", "b") == "one" })
	if info, _ := dlq.Info(ctx); info.State.Msgs != 0 {
		t.Errorf("%d dead letters left", info.State.Msgs)
	}
}
