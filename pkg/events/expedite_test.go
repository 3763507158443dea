package events_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/nats-io/nats.go"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"
	"github.com/iamplane/iam/pkg/testenv"
)

// TestExpeditedEventsGoOutAtOnceAndOnce: an expedited event is in the stream before any
// relay runs; the relay's later publish of its row is deduplicated. An event whose subject
// still has an older event waiting in the outbox is not expedited: the relay sends both,
// in order, and the newer stays the subject's last message.
func TestExpeditedEventsGoOutAtOnceAndOnce(t *testing.T) {
	w := mustWorld(t)
	ctx := context.Background()
	nc, err := nats.Connect(w.nats.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	x := &events.Expediter{NATS: nc, Logger: testenv.Logger(t)}
	recordExpedited := func(evs ...events.Envelope) []events.Envelope {
		t.Helper()
		var now []events.Envelope
		if err := postgres.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
			var err error
			now, err = events.RecordExpedited(ctx, tx, evs...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return now
	}
	stream, _ := w.js.Stream(ctx, events.StreamName)
	lastOf := func(subject string) (events.Envelope, bool) {
		msg, err := stream.GetLastMsgForSubject(ctx, subject)
		if err != nil {
			return events.Envelope{}, false
		}
		var ev events.Envelope
		_ = json.Unmarshal(msg.Data, &ev)
		return ev, true
	}

	// Nothing older waiting: expedited, with the version Record stamped.
	gone := thing(t, "acme", "a", 1, true, "")
	now := recordExpedited(gone)
	if len(now) != 1 || now[0].ID != gone.ID || now[0].EntityVersion == 0 {
		t.Fatalf("expeditable: %+v", now)
	}
	x.Publish(now...)
	eventually(t, "the expedited event is in the stream, no relay running", func() bool {
		ev, ok := lastOf("iam.acme.things.thing.a")
		return ok && ev.ID == gone.ID && ev.EntityVersion == now[0].EntityVersion
	})

	// An older event of b is still unsent: b's final event waits for the relay.
	w.record(t, thing(t, "acme", "b", 1, false, "bee"))
	goneB := thing(t, "acme", "b", 2, true, "")
	if held := recordExpedited(goneB); len(held) != 0 {
		t.Fatalf("expedited ahead of an older unsent event of its subject: %+v", held)
	}

	w.run(t, &events.Relay{DB: w.db, JS: w.js, DSN: w.dsn, Logger: testenv.Logger(t), Poll: 50 * time.Millisecond})
	eventually(t, "the relay sent every row", func() bool { return w.unsent(t) == 0 })
	if ev, _ := lastOf("iam.acme.things.thing.b"); ev.ID != goneB.ID {
		t.Errorf("b's last message is %s, want its final event %s", ev.ID, goneB.ID)
	}
	info, _ := stream.Info(ctx)
	// a's event once (the relay's copy dropped), b's two events.
	if info.State.LastSeq != 3 {
		t.Errorf("stream sequence %d, want 3: the relayed copy of an expedited event was not deduplicated", info.State.LastSeq)
	}
}
