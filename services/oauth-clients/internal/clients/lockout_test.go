package clients

import (
	"testing"
	"time"
)

func TestFailureLimiter(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := &FailureLimiter{PerClient: 3, PerAddress: 5, Window: time.Minute}
	if l.Check("acme", "c1", "10.0.0.1", now) != 0 {
		t.Fatal("blocked before any failure")
	}
	for range 3 {
		l.Fail("acme", "c1", "10.0.0.1", now)
	}
	if w := l.Check("acme", "c1", "10.0.0.9", now.Add(10*time.Second)); w != 50*time.Second {
		t.Errorf("client lock from another address: wait %s, want 50s", w)
	}
	if w := l.Check("globex", "c1", "10.0.0.9", now); w != 0 {
		t.Errorf("the same id in another tenant is locked: %s", w)
	}
	if w := l.Check("acme", "c2", "10.0.0.1", now); w != 0 {
		t.Errorf("another client from the address is locked below the address limit: %s", w)
	}
	l.Fail("acme", "c2", "10.0.0.1", now)
	l.Fail("acme", "c3", "10.0.0.1", now)
	if w := l.Check("acme", "c4", "10.0.0.1", now); w != time.Minute {
		t.Errorf("address lock: %s", w)
	}
	later := now.Add(time.Minute)
	if l.Check("acme", "c1", "10.0.0.1", later) != 0 {
		t.Error("still locked after the window")
	}
	l.Prune(later)
	if l.tracked.Load() != 0 {
		t.Errorf("%d keys tracked after prune", l.tracked.Load())
	}

	bounded := &FailureLimiter{MaxKeys: 10}
	for i := range 100 {
		bounded.Fail("acme", string(rune('a'+i)), string(rune('a'+i)), now)
	}
	if len(bounded.clients) > 10 || len(bounded.addrs) > 10 {
		t.Errorf("unbounded: %d clients, %d addresses", len(bounded.clients), len(bounded.addrs))
	}
}
