package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/testenv"
)

func TestNewest(t *testing.T) {
	ev := func(id string, version int64) events.Envelope {
		return events.Envelope{Subject: "iam.acme.things.thing." + id, EntityVersion: version}
	}
	for _, tc := range []struct {
		name string
		in   []events.Envelope
		want []events.Envelope
	}{
		{"nothing", nil, []events.Envelope{}},
		{"distinct entities keep stream order", []events.Envelope{ev("b", 1), ev("a", 1)}, []events.Envelope{ev("b", 1), ev("a", 1)}},
		{"the newer of an entity, where it stands", []events.Envelope{ev("a", 1), ev("b", 1), ev("a", 2)}, []events.Envelope{ev("b", 1), ev("a", 2)}},
		{"an older copy behind the newer is dropped", []events.Envelope{ev("a", 3), ev("b", 1), ev("a", 2)}, []events.Envelope{ev("a", 3), ev("b", 1)}},
		{"a duplicate counts once", []events.Envelope{ev("a", 1), ev("a", 1)}, []events.Envelope{ev("a", 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := events.Newest(tc.in); !slices.Equal(subjectsAndVersions(got), subjectsAndVersions(tc.want)) {
				t.Errorf("got %v, want %v", subjectsAndVersions(got), subjectsAndVersions(tc.want))
			}
		})
	}
}

func subjectsAndVersions(evs []events.Envelope) []string {
	out := []string{}
	for _, ev := range evs {
		out = append(out, fmt.Sprintf("%s@%d", ev.Subject, ev.EntityVersion))
	}
	return out
}

// batchView is a view applied a batch at a time; it records the batches it was given.
type batchView struct {
	mu      sync.Mutex
	batches [][]events.Envelope
}

func (v *batchView) apply(ctx context.Context, tx *sqlx.Tx, evs []events.Envelope) error {
	for _, ev := range evs {
		if ev.Deleted {
			if _, err := tx.ExecContext(ctx, `DELETE FROM view WHERE id = $1`, ev.EntityID()); err != nil {
				return err
			}
			continue
		}
		var d struct{ Name string }
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return err
		}
		if d.Name == "poison" {
			return errPoison
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO view VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, ev.EntityID(), d.Name); err != nil {
			return err
		}
	}
	v.mu.Lock()
	v.batches = append(v.batches, slices.Clone(evs))
	v.mu.Unlock()
	return nil
}

func (v *batchView) taken() [][]events.Envelope {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.batches)
}

// A batch consumer takes the events waiting in one transaction, and only those newer
// than the view holds; the metrics count every event and the batches.
func TestConsumerAppliesBatches(t *testing.T) {
	w := mustWorld(t)
	ctx := context.Background()
	publish := func(ev events.Envelope) {
		t.Helper()
		raw, _ := json.Marshal(ev)
		if _, err := w.js.Publish(ctx, ev.Subject, raw); err != nil {
			t.Fatal(err)
		}
	}
	// The view already holds b at version 5: an older event of b is stale.
	if _, err := w.db.Exec(`INSERT INTO view VALUES ('b', 'b5')`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(`INSERT INTO event_versions (subject, version, event_id, tenant) VALUES ('iam.acme.things.thing.b', 5, gen_random_uuid(), 'acme')`); err != nil {
		t.Fatal(err)
	}
	// Waiting before the consumer starts.
	const n = 300
	for i := range n {
		publish(thing(t, "acme", fmt.Sprint("t", i), 1, false, fmt.Sprint("first ", i)))
	}
	publish(thing(t, "acme", "b", 4, false, "stale"))
	published := n + 1

	view := &batchView{}
	c := &events.Consumer{Name: "batch-view", Subjects: []string{"iam.*.things.thing.*"}, DB: w.db, JS: w.js,
		ApplyBatch: view.apply, Logger: testenv.Logger(t), MaxDeliver: 2, AckWait: 5 * time.Second}
	reg := prometheus.NewRegistry()
	c.Register(reg)
	w.run(t, c)
	eventually(t, "every event taken", func() bool { return metric(t, reg, "iam_consumer_applied_events_total") == float64(published) })
	names := viewNames(t, w.db)
	if len(names) != n+1 {
		t.Errorf("view holds %d things, want %d", len(names), n+1)
	}
	for id, want := range map[string]string{"t0": "first 0", "b": "b5", "t299": "first 299"} {
		if names[id] != want {
			t.Errorf("%s is %q, want %q", id, names[id], want)
		}
	}
	batches := view.taken()
	var largest int
	for _, b := range batches {
		largest = max(largest, len(b))
		for _, ev := range b {
			if ev.Subject == "iam.acme.things.thing.b" {
				t.Error("the stale event of b reached the view")
			}
		}
	}
	if largest < 10 {
		t.Errorf("%d events waiting went in %d batches of at most %d: not batched", published, len(batches), largest)
	}
	if got := metric(t, reg, "iam_consumer_batch_size"); got == 0 || got >= float64(published) {
		t.Errorf("%v batches counted for %d events", got, published)
	}
}

// Within one batch (events pulled before the stream compacted them), an entity's newest
// event alone reaches the view, and only if newer than what the view holds: the view ends
// as applying each event in order would leave it.
func TestApplyEventsBatch(t *testing.T) {
	w := mustWorld(t)
	ctx := context.Background()
	view := &batchView{}
	c := &events.Consumer{Name: "batch-view", DB: w.db, ApplyBatch: view.apply}
	for _, step := range []struct {
		name      string
		evs       []events.Envelope
		fresh     int
		want      map[string]string
		reachView []string // subject@version of the events the view was given
	}{
		{"new entities", []events.Envelope{thing(t, "acme", "a", 1, false, "a1"), thing(t, "acme", "b", 1, false, "b1")}, 2,
			map[string]string{"a": "a1", "b": "b1"}, []string{"iam.acme.things.thing.a@1", "iam.acme.things.thing.b@1"}},
		{"the newer of two, an older copy behind it dropped, a duplicate once",
			[]events.Envelope{thing(t, "acme", "a", 3, false, "a3"), thing(t, "acme", "c", 1, false, "c1"), thing(t, "acme", "a", 2, false, "a2"),
				thing(t, "acme", "c", 1, false, "c1")}, 2,
			map[string]string{"a": "a3", "b": "b1", "c": "c1"}, []string{"iam.acme.things.thing.a@3", "iam.acme.things.thing.c@1"}},
		{"stale against the view: nothing", []events.Envelope{thing(t, "acme", "a", 2, false, "a2"), thing(t, "acme", "b", 1, false, "b1")}, 0,
			map[string]string{"a": "a3", "b": "b1", "c": "c1"}, nil},
		{"a tombstone and a change of another entity", []events.Envelope{thing(t, "acme", "b", 2, true, ""), thing(t, "acme", "a", 2, false, "a2"),
			thing(t, "acme", "c", 2, false, "c2")}, 2,
			map[string]string{"a": "a3", "c": "c2"}, []string{"iam.acme.things.thing.b@2", "iam.acme.things.thing.c@2"}},
		{"a late update never resurrects", []events.Envelope{thing(t, "acme", "b", 1, false, "b1")}, 0,
			map[string]string{"a": "a3", "c": "c2"}, nil},
	} {
		before := len(view.taken())
		fresh, err := c.ApplyEvents(ctx, step.evs)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if fresh != step.fresh {
			t.Errorf("%s: %d fresh, want %d", step.name, fresh, step.fresh)
		}
		if got := viewNames(t, w.db); !maps.Equal(got, step.want) {
			t.Errorf("%s: view %v, want %v", step.name, got, step.want)
		}
		var reached []string
		for _, b := range view.taken()[before:] {
			reached = append(reached, subjectsAndVersions(b)...)
		}
		if !slices.Equal(reached, step.reachView) {
			t.Errorf("%s: the view was given %v, want %v", step.name, reached, step.reachView)
		}
	}
}

func viewNames(t *testing.T, db *sqlx.DB) map[string]string {
	t.Helper()
	var rows []struct{ ID, Name string }
	if err := db.Select(&rows, `SELECT id, name FROM view`); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, r := range rows {
		names[r.ID] = r.Name
	}
	return names
}

// A poison event in a batch fails the batch; its events are then applied one by one, so
// the poison is dead-lettered and every other event applied.
func TestConsumerBatchWithPoison(t *testing.T) {
	w := mustWorld(t)
	ctx := context.Background()
	for i := range 50 {
		name := fmt.Sprint("fine ", i)
		if i == 25 {
			name = "poison"
		}
		raw, _ := json.Marshal(thing(t, "acme", fmt.Sprint("t", i), 1, false, name))
		if _, err := w.js.Publish(ctx, fmt.Sprint("iam.acme.things.thing.t", i), raw); err != nil {
			t.Fatal(err)
		}
	}
	view := &batchView{}
	w.run(t, &events.Consumer{Name: "poison-view", Subjects: []string{"iam.*.things.thing.*"}, DB: w.db, JS: w.js,
		ApplyBatch: view.apply, Logger: testenv.Logger(t), MaxDeliver: 2, AckWait: time.Second})
	eventually(t, "the other 49 applied", func() bool {
		var n int
		_ = w.db.Get(&n, `SELECT count(*) FROM view`)
		return n == 49
	})
	dlq, _ := w.js.Stream(ctx, events.DeadLetterStream)
	eventually(t, "the poison dead-lettered", func() bool {
		info, err := dlq.Info(ctx)
		return err == nil && info.State.Msgs == 1
	})
}

// metric is a counter's value, or a histogram's count, in reg.
func metric(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		if h := m.GetHistogram(); h != nil {
			return float64(h.GetSampleCount())
		}
		return m.GetCounter().GetValue()
	}
	return 0
}
