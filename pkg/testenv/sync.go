package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
)

// AskSync sends one iamsync request (pkg/events/sync.go) for area to whichever service
// answers it and returns the decoded reply; req is an events.SyncRequest or its JSON
// shape.
func AskSync(tb testing.TB, nc *nats.Conn, area, op string, req any) events.SyncReply {
	tb.Helper()
	raw, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, "iamsync."+area+"."+op, raw)
	if err != nil {
		tb.Fatalf("iamsync.%s.%s: %v", area, op, err)
	}
	var out events.SyncReply
	if err := json.Unmarshal(msg.Data, &out); err != nil {
		tb.Fatalf("iamsync.%s.%s reply %s: %v", area, op, msg.Data, err)
	}
	return out
}

// LastEvent waits (10 s at most) until the stream's last event on subject has a version
// above after (0: any) and returns it.
func LastEvent(tb testing.TB, js jetstream.JetStream, subject string, after int64) events.Envelope {
	tb.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if stream, err := js.Stream(ctx, events.StreamName); err == nil {
			msg, err := stream.GetLastMsgForSubject(ctx, subject)
			if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				tb.Fatal(err)
			}
			if err == nil {
				ev, err := events.Parse(msg.Subject, msg.Data)
				if err != nil {
					tb.Fatal(err)
				}
				if ev.EntityVersion > after {
					return ev
				}
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no event on %s above version %d within 10s", subject, after)
		}
	}
}
