package revocation_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamplane/iam/pkg/errs"
	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/revocation"
	"github.com/iamplane/iam/pkg/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func publish(t *testing.T, js jetstream.JetStream, e events.Envelope) {
	t.Helper()
	raw, _ := json.Marshal(e)
	if _, err := js.Publish(context.Background(), e.Subject, raw, jetstream.WithMsgID(e.ID)); err != nil {
		t.Fatal(err)
	}
}

// TestFollowerCatchesUpThenFollows: a follower starting on a stream that already holds
// revocations refuses tokens (503) until it has read them, then refuses the revoked ones,
// and picks up later revocations within milliseconds; NATS going away leaves the set as
// it was.
func TestFollowerCatchesUpThenFollows(t *testing.T) {
	ns := testenv.NewNATS(t)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := events.EnsureStreams(ctx, js, events.StreamOptions{Memory: true}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	publish(t, js, revoked(t, 1, now, "old", now.Add(time.Hour)))
	publish(t, js, clientGone(t, 2, now, "gone"))
	publish(t, js, user(t, 3, now, "other", false)) // not a revocation: read and ignored

	set := revocation.NewSet(time.Hour)
	f := &revocation.Follower{Set: set, JS: js, Logger: testenv.Logger(t)}
	f.Hold(time.Minute)
	live := token{jti: "live", client: "c1", sub: "client-c1", iat: 0}
	if err := set.Check(live.claims()); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("before catch-up: %v", err)
	}
	go func() { _ = f.Run(ctx) }()
	waitFor(t, "catch-up", func() bool { return set.CaughtUp() })
	issued := int(time.Now().Add(-time.Minute).Sub(t0).Seconds())
	if err := set.Check(token{jti: "old", client: "c1", sub: "client-c1", iat: issued}.claims()); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("revoked before start: %v", err)
	}
	if err := set.Check(token{jti: "x", client: "gone", sub: "client-gone", iat: issued}.claims()); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("deleted client before start: %v", err)
	}
	if err := set.Check(token{jti: "live", client: "c1", sub: "client-c1", iat: issued}.claims()); err != nil {
		t.Errorf("live token: %v", err)
	}

	publish(t, js, revoked(t, 4, time.Now(), "live", time.Now().Add(time.Hour)))
	waitFor(t, "a new revocation", func() bool {
		return set.Check(token{jti: "live", client: "c1", sub: "client-c1", iat: issued}.claims()) != nil
	})

	ns.Stop()
	time.Sleep(100 * time.Millisecond)
	if err := set.Check(token{jti: "live", client: "c1", sub: "client-c1", iat: issued}.claims()); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("without NATS the set forgot: %v", err)
	}
}

// TestFollowerServesAfterTheBoundWithoutNATS: with no NATS at all, tokens are held for
// the bound only.
func TestFollowerServesAfterTheBoundWithoutNATS(t *testing.T) {
	set := revocation.NewSet(time.Hour)
	f := &revocation.Follower{Set: set, Logger: testenv.Logger(t)}
	f.Register(prometheusRegistry())
	f.Hold(50 * time.Millisecond)
	c := token{jti: "j", client: "c", sub: "client-c"}.claims()
	if err := set.Check(c); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("within the bound: %v", err)
	}
	time.Sleep(60 * time.Millisecond)
	if err := set.Check(c); err != nil {
		t.Fatalf("past the bound: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5s", what)
		}
	}
}

func prometheusRegistry() *prometheus.Registry { return prometheus.NewRegistry() }
