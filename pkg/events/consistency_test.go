package events_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/postgres"
	"github.com/iamplane/iam/pkg/testenv"
)

func TestSubjectMatches(t *testing.T) {
	for _, tc := range []struct {
		filter, subject string
		want            bool
	}{
		{"iam.*.subjects.>", "iam.acme.subjects.user.u1", true},
		{"iam.*.subjects.>", "iam.acme.subjects", false},
		{"iam.*.clients.client.*", "iam.acme.clients.client.c1", true},
		{"iam.*.clients.client.*", "iam.acme.clients.client.c1.x", false},
		{"iam.*.clients.client.*", "iam.acme.clients.scope.s1", false},
		{"iam.acme.>", "iam.other.subjects.user.u1", false},
	} {
		if got := events.SubjectMatches(tc.filter, tc.subject); got != tc.want {
			t.Errorf("SubjectMatches(%q, %q) = %v", tc.filter, tc.subject, got)
		}
	}
}

func TestTokenKeepsTheNewestVersionOfTheLastEntities(t *testing.T) {
	ctx, marks := events.WithMarks(context.Background())
	w := mustWorld(t)
	var evs []events.Envelope
	for i := range 40 {
		evs = append(evs, thing(t, "acme", fmt.Sprint(i%20), int64(i+1), false, "x"))
	}
	if err := postgres.InTx(ctx, w.db, func(tx *sqlx.Tx) error { return events.Record(ctx, tx, evs...) }); err != nil {
		t.Fatal(err)
	}
	tok, err := events.ParseToken(marks.Token("things").String())
	if err != nil {
		t.Fatal(err)
	}
	if tok.Service != "things" || len(tok.Marks) != 16 {
		t.Fatalf("token %+v", tok)
	}
	// Entities 4..19 were written last, with versions 25..40.
	for _, mk := range tok.Marks {
		var id int
		fmt.Sscanf(mk.Subject[strings.LastIndex(mk.Subject, ".")+1:], "%d", &id)
		if id < 4 || mk.Version != int64(id+21) {
			t.Errorf("mark %+v", mk)
		}
	}
	for _, bad := range []string{"", "not base64!", "e30", "eyJzIjoiIn0"} {
		if _, err := events.ParseToken(bad); !errs.Is(err, errs.BadRequest) {
			t.Errorf("ParseToken(%q) = %v, want bad request", bad, err)
		}
	}
}

// TestWaiterWaitsForTheConsumer runs the real path: a write records events with marks,
// the relay publishes them, a consumer applies them, and a waiter holding the write's
// token returns only once the consumer's versions cover it.
func TestWaiterWaitsForTheConsumer(t *testing.T) {
	w := mustWorld(t)
	ctx, marks := events.WithMarks(context.Background())
	release := make(chan struct{})
	apply := func(ctx context.Context, tx *sqlx.Tx, ev events.Envelope) error {
		<-release // the view is slow until the test lets it go
		_, err := tx.ExecContext(ctx, `INSERT INTO view VALUES ($1, 'x') ON CONFLICT DO NOTHING`, ev.EntityID())
		return err
	}
	waiter := &events.Waiter{DB: w.db, Service: "reader", Timeout: 300 * time.Millisecond, Subjects: []string{"iam.*.things.>"}}
	if err := postgres.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		return events.Record(ctx, tx, thing(t, "acme", "a", 7, false, "x"), thing(t, "acme", "b", 3, false, "x"))
	}); err != nil {
		t.Fatal(err)
	}
	tok := marks.Token("writer")
	w.run(t, &events.Relay{DB: w.db, JS: w.js, DSN: w.dsn, Logger: testenv.Logger(t), Poll: 50 * time.Millisecond})
	w.run(t, &events.Consumer{Name: "slow-view", Subjects: waiter.Subjects, DB: w.db, JS: w.js, Apply: apply, Logger: testenv.Logger(t), AckWait: 5 * time.Second})

	// Not applied yet: past the bound the read fails rather than answer stale.
	if err := waiter.Wait(context.Background(), "acme", tok); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("wait before apply = %v, want unavailable", err)
	}
	close(release)
	waiter.Timeout = 10 * time.Second
	if err := waiter.Wait(context.Background(), "acme", tok); err != nil {
		t.Fatalf("wait after apply = %v", err)
	}
	var n int
	if err := w.db.Get(&n, `SELECT count(*) FROM view WHERE id IN ('a', 'b')`); err != nil || n != 2 {
		t.Fatalf("view has %d of the write's 2 entities (%v) when the wait returned", n, err)
	}

	for _, tc := range []struct {
		name string
		tok  events.Token
		want errs.Kind
	}{
		{"own writes are visible at once", events.Token{Service: "reader", Marks: []events.Mark{{Subject: "iam.acme.things.thing.z", Version: 99}}}, ""},
		{"events it does not consume are not waited for", events.Token{Service: "writer", Marks: []events.Mark{{Subject: "iam.acme.other.thing.z", Version: 99}}}, ""},
		{"a write with no events", events.Token{Service: "writer"}, ""},
		{"another tenant's token", events.Token{Service: "writer", Marks: []events.Mark{{Subject: "iam.globex.things.thing.a", Version: 1}}}, errs.BadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := waiter.Wait(context.Background(), "acme", tc.tok)
			if (tc.want == "" && err != nil) || (tc.want != "" && !errs.Is(err, tc.want)) {
				t.Fatalf("Wait = %v, want %q", err, tc.want)
			}
		})
	}
}
