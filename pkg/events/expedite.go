package events

import (
	"encoding/json"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Expediter publishes events that were just recorded in the outbox, once their
// transaction has committed, straight from the writer, ahead of the relay. The relay
// still publishes the same rows (the outbox stays the one source of truth, so nothing is
// lost when this publish is) and JetStream drops its copy as a duplicate (same
// Nats-Msg-Id, within the stream's duplicate window). It takes the relay's round trips
// (the NOTIFY, claiming the rows, the backlog count) off the path of an event whose lag
// is a security matter: a token revocation, which every service's deny set follows.
//
// Only for events that are the sole event of their subject (a revocation of one jti): the
// relay keeps each entity's events in commit order, and an expedited event could
// overtake an older one of its subject still waiting in the outbox, which would then end
// up as the subject's last message in the compact stream.
type Expediter struct {
	NATS   *nats.Conn // nil: nothing is expedited
	Logger *slog.Logger
}

// Publish sends evs (as Record stamped them) without waiting for an acknowledgement:
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
