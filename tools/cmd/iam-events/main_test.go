package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iamplane/iam/pkg/events"
	"github.com/iamplane/iam/pkg/testenv"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestExampleConsumerPrintsEvents(t *testing.T) {
	ns := testenv.NewNATS(t)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if err := events.EnsureStreams(ctx, js, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	ev, _ := events.New("/iam/iam-subjects", events.Entity{Tenant: "acme", Area: "subjects", Kind: "group", ID: "ops"}, 3, false, map[string]string{"displayName": "Ops"})
	raw, _ := json.Marshal(ev)
	if _, err := js.Publish(ctx, ev.Subject, raw); err != nil {
		t.Fatal(err)
	}
	forged, _ := events.New("/x", events.Entity{Tenant: "globex", Area: "subjects", Kind: "group", ID: "x"}, 1, false, nil)
	raw, _ = json.Marshal(forged)
	if _, err := js.Publish(ctx, "iam.acme.subjects.group.x", raw); err != nil {
		t.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(runCtx, ns.URLFor(events.ReaderUser), "test", "iam.acme.>", out) }() // what other teams get
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "rejected"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("printed: %q", out.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "iam.acme.subjects.group.ops v3 changed") {
		t.Errorf("printed: %q", out.String())
	}
}
