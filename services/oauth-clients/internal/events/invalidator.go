package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/events/schema"
)

// Invalidator follows this service's own client and secret events, as published by
// whichever replica made the change, and drops the affected client's cached credentials
// on this replica. It reads with an ordered, ephemeral consumer from the newest message
// on: each replica needs every event, none needs history. Whenever it (re)attaches it
// flushes the whole cache, since events may have gone by while it was away; the cache's
// TTL bounds staleness should NATS itself be unreachable.
type Invalidator struct {
	JS     jetstream.JetStream
	Logger *slog.Logger
	// Forget drops one client's cached credentials; Flush drops them all.
	Forget func(tenant, clientID string)
	Flush  func()
	// Attached, if set, learns each (re)attachment (tests wait for it).
	Attached func()
}

// Subjects are the events that change a client's credentials.
var invalidatingSubjects = []string{"iam.*.clients.client.*", "iam.*.clients.clientsecret.*"}

// Run follows the events until ctx ends.
func (in *Invalidator) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		err := in.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		in.Logger.Warn("credentials invalidation interrupted; reattaching", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (in *Invalidator) follow(ctx context.Context) error {
	cons, err := in.JS.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: invalidatingSubjects,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return err
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	in.Flush()
	if in.Attached != nil {
		in.Attached()
	}
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
				return nil
			}
			return err
		}
		in.apply(msg.Subject(), msg.Data())
	}
}

func (in *Invalidator) apply(subject string, data []byte) {
	ev, err := events.Parse(subject, data)
	if err != nil {
		in.Logger.Warn("unreadable event; flushing cached credentials", "subject", subject, "error", err)
		in.Flush()
		return
	}
	switch ev.Type {
	case events.TypeName("client", "upserted"), events.TypeName("client", "deleted"):
		in.Forget(ev.Tenant, ev.EntityID())
	case events.TypeName("clientsecret", "upserted"), events.TypeName("clientsecret", "deleted"):
		var s schema.ClientSecretState
		if err := json.Unmarshal(ev.Data, &s); err != nil || s.ClientId == "" {
			in.Flush()
			return
		}
		in.Forget(ev.Tenant, s.ClientId)
	}
}
