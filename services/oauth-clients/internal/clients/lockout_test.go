package clients

import (
	"fmt"
	"testing"
	"time"
)

func TestFailureLimiter(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := &FailureLimiter{FreeFailures: 3, PerClient: 10, PerAddress: 7, Window: time.Minute}
	if l.Check("acme", "c1", "10.0.0.1", now) != 0 {
		t.Fatal("blocked before any failure")
	}
	for range 3 {
		l.Fail("acme", "c1", "10.0.0.1", now)
	}
	if w := l.Check("acme", "c1", "10.0.0.1", now); w != 0 {
		t.Errorf("free failures delay: %s", w)
	}
	// Past the free failures the pair waits 1 s, 2 s, 4 s, ... up to the window.
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		l.Fail("acme", "c1", "10.0.0.1", now)
		if w := l.Check("acme", "c1", "10.0.0.1", now); w != want {
			t.Errorf("failure %d beyond the free ones: wait %s, want %s", i+1, w, want)
		}
	}
	// Nobody else waits: not the client from another address, nor another client from the address.
	if w := l.Check("acme", "c1", "10.0.0.9", now); w != 0 {
		t.Errorf("the client from another address waits %s", w)
	}
	if w := l.Check("acme", "c2", "10.0.0.1", now); w != 0 {
		t.Errorf("another client from the address waits %s", w)
	}
	if w := l.Check("globex", "c1", "10.0.0.1", now); w != 0 {
		t.Errorf("the same id in another tenant waits %s", w)
	}
	later := now.Add(5 * time.Second)
	if w := l.Check("acme", "c1", "10.0.0.1", later); w != 0 {
		t.Errorf("still waiting after the delay: %s", w)
	}
	l.Succeed("acme", "c1", "10.0.0.1")
	if _, ok := l.pairs[keyOf("acme", "c1", "10.0.0.1")]; ok {
		t.Error("a success does not reset the pair")
	}
	l.Fail("acme", "c1", "10.0.0.1", later)

	// Per-address ceiling (7 failures from 10.0.0.1 by now, counting the one after the
	// reset): a pair that failed is refused, a clean one is checked.
	if w := l.Check("acme", "c1", "10.0.0.1", later); w != 55*time.Second {
		t.Errorf("a failed pair past the address ceiling: wait %s, want 55s", w)
	}
	if w := l.Check("acme", "c3", "10.0.0.1", later); w != 0 {
		t.Errorf("a clean pair past the address ceiling waits %s", w)
	}

	// Per-client ceiling: 10 failures of c9 from 10 addresses.
	for i := range 10 {
		l.Fail("acme", "c9", fmt.Sprintf("192.0.2.%d", i), now)
	}
	if w := l.Check("acme", "c9", "192.0.2.3", now); w != time.Minute {
		t.Errorf("a failed pair past the client ceiling: wait %s", w)
	}
	if w := l.Check("acme", "c9", "192.0.2.200", now); w != 0 {
		t.Errorf("a clean pair past the client ceiling waits %s", w)
	}

	// IPv6 addresses count by /64.
	for range 4 {
		l.Fail("acme", "c5", "2001:db8:1:2::1", now)
	}
	if w := l.Check("acme", "c5", "2001:db8:1:2:ffff::9", now); w != time.Second {
		t.Errorf("another address in the /64 waits %s, want 1s", w)
	}

	end := now.Add(10 * time.Minute)
	if l.Check("acme", "c1", "10.0.0.1", end) != 0 || l.Check("acme", "c9", "192.0.2.3", end) != 0 {
		t.Error("still refused long after")
	}
	l.Prune(end)
	if n := l.tracked.Load(); n != 0 || len(l.clients) != 0 || len(l.addrs) != 0 {
		t.Errorf("after prune: %d pairs, %d clients, %d addresses", n, len(l.clients), len(l.addrs))
	}

	// Memory is bounded; a pair that found no room counts as failed past a ceiling.
	bounded := &FailureLimiter{MaxKeys: 10, PerAddress: 20}
	for i := range 100 {
		bounded.Fail("acme", fmt.Sprint("junk", i), "10.0.0.1", now)
	}
	if len(bounded.pairs) > 10 || len(bounded.clients) > 10 || len(bounded.addrs) > 10 {
		t.Errorf("unbounded: %d pairs, %d clients, %d addresses", len(bounded.pairs), len(bounded.clients), len(bounded.addrs))
	}
	if w := bounded.Check("acme", "victim", "10.0.0.1", now); w == 0 {
		t.Error("an untracked pair of an address past its ceiling is checked")
	}
	if w := bounded.Check("acme", "victim", "10.0.0.2", now); w != 0 {
		t.Errorf("an untracked pair of a clean address and client waits %s", w)
	}
}

func BenchmarkFailureLimiterCheck(b *testing.B) {
	now := time.Now()
	l := &FailureLimiter{}
	l.Fail("acme", "someone-else", "10.0.0.1", now)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Check("acme", "c1", "10.0.0.2", now)
		}
	})
}
