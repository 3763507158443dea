package clients

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestCredentialCache(t *testing.T) {
	ctx := context.Background()
	var loads atomic.Int32
	secret, _ := NewSecret("", "", nil, time.Now())
	load := func(context.Context) (*Client, []Secret, error) {
		loads.Add(1)
		return &Client{Tenant: "acme", ID: "c1"}, []Secret{*secret}, nil
	}

	t.Run("hit after fill, reload after TTL", func(t *testing.T) {
		c := &CredentialCache{TTL: 50 * time.Millisecond}
		loads.Store(0)
		for range 3 {
			if _, err := c.get(ctx, "acme", "c1", load); err != nil {
				t.Fatal(err)
			}
		}
		if loads.Load() != 1 {
			t.Fatalf("%d loads for three gets", loads.Load())
		}
		time.Sleep(60 * time.Millisecond)
		_, _ = c.get(ctx, "acme", "c1", load)
		if loads.Load() != 2 {
			t.Fatalf("no reload after TTL: %d", loads.Load())
		}
	})

	t.Run("invalidate drops the entry", func(t *testing.T) {
		c := &CredentialCache{}
		loads.Store(0)
		_, _ = c.get(ctx, "acme", "c1", load)
		c.Invalidate("acme", "c1")
		_, _ = c.get(ctx, "acme", "c1", load)
		if loads.Load() != 2 || c.Len() != 1 {
			t.Fatalf("loads %d, entries %d", loads.Load(), c.Len())
		}
	})

	t.Run("a fill that raced an invalidation is not kept", func(t *testing.T) {
		c := &CredentialCache{}
		slow := func(ctx context.Context) (*Client, []Secret, error) {
			c.Invalidate("acme", "c1") // the write commits while the read is in flight
			return load(ctx)
		}
		if _, err := c.get(ctx, "acme", "c1", slow); err != nil {
			t.Fatal(err)
		}
		if c.Len() != 0 {
			t.Fatal("a stale read was cached after the invalidation")
		}
	})

	t.Run("bounded", func(t *testing.T) {
		c := &CredentialCache{MaxEntries: 10}
		for i := range 50 {
			_, _ = c.get(ctx, "acme", string(rune('a'+i)), load)
		}
		if c.Len() > 10 {
			t.Fatalf("%d entries", c.Len())
		}
	})

	t.Run("a verified chosen secret is remembered, a wrong one never", func(t *testing.T) {
		chosen, _ := NewSecret("correct-horse", "", nil, time.Now())
		c := &CredentialCache{}
		e, _ := c.get(ctx, "acme", "c2", func(context.Context) (*Client, []Secret, error) {
			return &Client{}, []Secret{*chosen}, nil
		})
		if c.match(e, 0, "wrong-horse") || e.memo[0].Load() != nil {
			t.Fatal("a wrong value matched or was remembered")
		}
		if !c.match(e, 0, "correct-horse") || e.memo[0].Load() == nil {
			t.Fatal("the right value did not match or was not remembered")
		}
		start := time.Now()
		if !c.match(e, 0, "correct-horse") || c.match(e, 0, "wrong-horse!") {
			t.Fatal("remembered check is wrong")
		}
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Errorf("remembered check took %s", d)
		}
	})
}
