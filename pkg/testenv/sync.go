package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
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

// CheckListed checks that area's source lists and digests, for tenant under filters,
// exactly want (subject → version), the list in subject order. what names the moment
// in the failure messages.
func CheckListed(tb testing.TB, nc *nats.Conn, area, tenant string, filters []string, want map[string]int64, what string) {
	tb.Helper()
	d := AskSync(tb, nc, area, "digest", events.SyncRequest{Tenant: tenant, Filters: filters})
	if d.Error != "" || d.Digest == nil || *d.Digest != events.DigestOf(want) {
		tb.Errorf("%s: digest %+v (%s), want %+v", what, d.Digest, d.Error, events.DigestOf(want))
	}
	l := AskSync(tb, nc, area, "list", events.SyncRequest{Tenant: tenant, Filters: filters})
	got := map[string]int64{}
	for _, e := range l.Entries {
		got[e.Subject] = e.Version
	}
	if l.Error != "" || len(l.Entries) != len(want) || !maps.Equal(got, want) {
		tb.Errorf("%s: list %+v, want %v", what, l, want)
	}
	if !slices.IsSortedFunc(l.Entries, func(a, b events.VersionEntry) int { return strings.Compare(a.Subject, b.Subject) }) {
		tb.Errorf("%s: list out of subject order: %+v", what, l.Entries)
	}
}
