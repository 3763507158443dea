package natsembed

import (
	neturl "net/url"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestRestartKeepsStreamAndClientsReconnect(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Stop)
	url := s.URL()
	if u, err := neturl.Parse(url); err != nil || u.Scheme != "nats" || u.Hostname() != "127.0.0.1" || u.Port() == "4222" || u.User.Username() != "admin" {
		t.Fatalf("URL = %s", url)
	}

	// One client lives through the outage, as a service would.
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "EVENTS", Subjects: []string{"events.>"}, Storage: jetstream.FileStorage,
	})
	if err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if _, err := js.Publish(ctx, "events.user.created", []byte("before")); err != nil {
		t.Fatalf("publish: %v", err)
	}

	s.Stop()
	if c, err := nats.Connect(url, nats.Timeout(time.Second)); err == nil {
		c.Close()
		t.Fatal("connected to a stopped server")
	}
	if err := s.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if s.URL() != url {
		t.Fatalf("URL changed across restart: %s -> %s", url, s.URL())
	}

	msg, err := stream.GetMsg(ctx, 1)
	if err != nil {
		t.Fatalf("get message after restart: %v", err)
	}
	if string(msg.Data) != "before" {
		t.Fatalf("message after restart = %q", msg.Data)
	}
	if _, err := js.Publish(ctx, "events.user.deleted", []byte("after")); err != nil {
		t.Fatalf("publish after restart: %v", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages, want 2", info.State.Msgs)
	}
}

func TestStoreDirRequired(t *testing.T) {
	if _, err := Start(Options{}); err == nil {
		t.Fatal("Start without StoreDir succeeded")
	}
}
