package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// RecordExpedited records final events (the last their subjects will ever have) like
// Record, and returns those that may be expedited once tx has committed: the ones no older
// event of whose subject is still waiting in the outbox. The caller must hold what orders
// the entity's writers (its row lock) before calling it, as for Record.
func RecordExpedited(ctx context.Context, tx *sqlx.Tx, evs ...Envelope) ([]Envelope, error) {
	subjects := make([]string, len(evs))
	for i, ev := range evs {
		subjects[i] = ev.Subject
	}
	var waiting []string
	if err := tx.SelectContext(ctx, &waiting, `SELECT DISTINCT subject FROM outbox WHERE sent_at IS NULL AND subject = ANY($1)`,
		pq.Array(subjects)); err != nil {
		return nil, fmt.Errorf("unsent events: %w", err)
	}
	if err := Record(ctx, tx, evs...); err != nil { // stamps the versions into evs
		return nil, err
	}
	held := map[string]bool{}
	for _, s := range waiting {
		held[s] = true
	}
	var now []Envelope
	for _, ev := range evs {
		if !held[ev.Subject] {
			now = append(now, ev)
		}
	}
	return now, nil
}

// Expediter publishes events that were just recorded in the outbox, once their
// transaction has committed, straight from the writer, ahead of the relay. The relay
// still publishes the same rows (the outbox stays the one source of truth, so nothing is
// lost when this publish is) and JetStream drops its copy as a duplicate (same
// Nats-Msg-Id, within the stream's duplicate window). It takes the relay's round trips
// (the NOTIFY, claiming the rows, the backlog count) off the path of an event whose lag
// is a security matter: a token revocation, which every service's deny set follows.
//
// The relay keeps each entity's events in commit order; an expedited event must not
// overtake an older one of its subject still waiting in the outbox (that one would then
// end up as the subject's last message in the compact stream), nor be overtaken by a
// newer one. So events are recorded with RecordExpedited, which leaves out those with an
// older event of their subject unsent, and only final events are expedited: the last
// event their subject will ever have (a revoked jti, a revoked secret's tombstone).
type Expediter struct {
	NATS   *nats.Conn // nil: nothing is expedited
	Logger *slog.Logger
}

// Publish sends evs (as RecordExpedited returned them) without waiting for an acknowledgement:
// a plain publish on a subject of the stream, which JetStream stores. Failures are left
// to the relay.
func (x *Expediter) Publish(evs ...Envelope) {
	if x == nil || x.NATS == nil {
		return
	}
	for _, ev := range evs {
		payload, err := json.Marshal(ev)
		if err == nil {
			err = x.NATS.PublishMsg(outboxMsg(ev.ID, ev.Subject, payload))
		}
		if err != nil && x.Logger != nil {
			x.Logger.Debug("expedited publish failed; the relay will publish it", "subject", ev.Subject, "error", err)
		}
	}
}

// outboxMsg is the NATS message of an outbox row: its event id as Nats-Msg-Id, so that
// JetStream drops a second publish of it.
func outboxMsg(id, subject string, payload []byte) *nats.Msg {
	msg := &nats.Msg{Subject: subject, Data: payload, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	msg.Header.Set("Content-Type", "application/cloudevents+json")
	return msg
}
