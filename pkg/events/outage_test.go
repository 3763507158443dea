package events_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/pgcluster"
	"github.com/iamplane/iam/pkg/postgres"
	"github.com/iamplane/iam/pkg/testenv"
)

// A consumer whose own database refuses connections (a failover, a restart) pauses and
// resumes: every event published meanwhile is applied once the database is back, none
// is dead-lettered, however often it was tried. (Before, 8 deliveries in ~28 s sent
// ordinary events to the dead-letter stream for good.)
func TestConsumerWaitsOutItsDatabase(t *testing.T) {
	for _, batched := range []bool{false, true} {
		t.Run(map[bool]string{false: "one event at a time", true: "in batches"}[batched], func(t *testing.T) {
			waitsOutItsDatabase(t, batched)
		})
	}
}

func waitsOutItsDatabase(t *testing.T, batched bool) {
	w := mustWorld(t) // NATS and the streams; the view lives on a cluster of its own
	ctx := context.Background()
	dir := t.TempDir()
	pg, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	db, err := postgres.Open(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	view := fstest.MapFS{"00001_view.sql": {Data: []byte("-- +goose Up\nCREATE TABLE view (id text PRIMARY KEY, name text NOT NULL);\n")}}
	if err := postgres.Migrate(ctx, db, view, testenv.Logger(t)); err != nil {
		t.Fatal(err)
	}
	apply := func(ctx context.Context, tx *sqlx.Tx, ev events.Envelope) error {
		var d struct{ Name string }
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO view VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, ev.EntityID(), d.Name)
		return err
	}
	c := &events.Consumer{Name: "outage-view", Subjects: []string{"iam.*.things.thing.*"}, DB: db, JS: w.js, Apply: apply,
		Logger: testenv.Logger(t), MaxDeliver: 2, AckWait: time.Second}
	if batched {
		c.Apply, c.ApplyBatch = nil, func(ctx context.Context, tx *sqlx.Tx, evs []events.Envelope) error {
			for _, ev := range evs {
				if err := apply(ctx, tx, ev); err != nil {
					return err
				}
			}
			return nil
		}
	}
	reg := prometheus.NewRegistry()
	c.Register(reg)
	w.run(t, c)
	publish := func(ev events.Envelope) {
		t.Helper()
		raw, _ := json.Marshal(ev)
		if _, err := w.js.Publish(ctx, ev.Subject, raw); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		var n int
		_ = db.Get(&n, `SELECT count(*) FROM view`)
		return n
	}
	publish(thing(t, "acme", "before", 1, false, "before"))
	eventually(t, "the first event applied", func() bool { return count() == 1 })

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		publish(thing(t, "acme", "during-"+strconv.Itoa(i), 1, false, "during"))
	}
	// Longer than MaxDeliver × AckWait and than the consumer's longest pause, so the old
	// behaviour would have dead-lettered them.
	time.Sleep(4 * time.Second)
	u, _ := url.Parse(pg.URL("postgres"))
	port, _ := strconv.Atoi(u.Port())
	again, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Remove() })
	deadline := time.Now().Add(30 * time.Second)
	for count() != 21 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := count(); n != 21 {
		t.Fatalf("%d of 21 events applied after the database returned", n)
	}
	if info, err := w.js.Stream(ctx, events.DeadLetterStream); err == nil {
		if st, err := info.Info(ctx); err == nil && st.State.Msgs != 0 {
			t.Fatalf("%d events dead-lettered for the consumer's own outage", st.State.Msgs)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "iam_consumer_dependency_retries_total" && f.GetMetric()[0].GetCounter().GetValue() == 0 {
			t.Error("no retries counted while the database was down")
		}
	}
}
