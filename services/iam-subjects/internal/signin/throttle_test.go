package signin

import (
	"sync"
	"testing"
	"time"
)

// failAt is a wrong password: an attempt let through, then found wrong.
func (t *Throttle) failAt(user userKey, addr string, now time.Time) {
	if t.Begin(user, addr, now) == 0 {
		t.Failed(user, addr, now)
	}
}

// peek is how long an attempt would wait, without making one.
func (t *Throttle) peek(user userKey, addr string, now time.Time) time.Duration {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.wait(pairKey{user, addressKey(addr)}, now)
}

func TestThrottle(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	jane := userKey{"acme", "id:jane"}
	other := userKey{"acme", "id:other"}
	const home, office, attacker = "198.51.100.7", "203.0.113.9", "192.0.2.66"

	t.Run("free failures, then waits that double up to the window", func(t *testing.T) {
		th := &Throttle{FreeFailures: 3, Window: 10 * time.Second}
		now := t0
		var waits []time.Duration
		for range 8 {
			if w := th.Begin(jane, attacker, now); w > 0 {
				t.Fatalf("refused after its wait had passed: wait %s", w)
			}
			th.Failed(jane, attacker, now)
			w := th.peek(jane, attacker, now)
			waits = append(waits, w)
			now = now.Add(w)
		}
		want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second}
		for i := range want {
			if waits[i] != want[i] {
				t.Fatalf("waits %v, want %v", waits, want)
			}
		}
	})

	t.Run("the wait runs from the failure's answer", func(t *testing.T) {
		th := &Throttle{FreeFailures: 1, Window: time.Minute}
		th.failAt(jane, attacker, t0)
		th.Begin(jane, attacker, t0)
		th.Failed(jane, attacker, t0.Add(3*time.Second)) // a slow verification
		if w := th.peek(jane, attacker, t0.Add(3*time.Second)); w != time.Second {
			t.Fatalf("wait %s", w)
		}
	})

	t.Run("concurrent attempts do not slip through the budget", func(t *testing.T) {
		th := &Throttle{FreeFailures: 5, Window: time.Minute}
		var wg sync.WaitGroup
		var mu sync.Mutex
		through := 0
		for range 50 {
			wg.Go(func() {
				if th.Begin(jane, attacker, t0) == 0 {
					mu.Lock()
					through++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if through != 6 { // five free failures, and the attempt whose failure starts the wait
			t.Fatalf("%d of 50 simultaneous attempts checked", through)
		}
	})

	t.Run("a clean address is checked whatever others did", func(t *testing.T) {
		th := &Throttle{FreeFailures: 1, PerUser: 5, PerAddress: 5, Window: time.Minute}
		for i := range 20 {
			th.failAt(jane, attacker, t0.Add(time.Duration(i)*time.Millisecond))
		}
		if w := th.peek(jane, attacker, t0.Add(time.Second)); w <= 0 {
			t.Fatal("the guessing address is not slowed down")
		}
		if w := th.peek(jane, home, t0.Add(time.Second)); w != 0 {
			t.Fatalf("the person at home must wait %s because of someone else", w)
		}
		if w := th.peek(other, attacker, t0.Add(time.Second)); w != 0 {
			t.Fatalf("another user from the same (shared) address must wait %s", w)
		}
	})

	t.Run("past the user's ceiling an address that failed waits for the window", func(t *testing.T) {
		th := &Throttle{FreeFailures: 5, PerUser: 3, Window: time.Minute}
		th.failAt(jane, "192.0.2.1", t0)
		th.failAt(jane, "192.0.2.2", t0)
		th.failAt(jane, office, t0)
		// office has one failure of its own (free), but the user is past its ceiling.
		if w := th.peek(jane, office, t0.Add(time.Second)); w != 59*time.Second {
			t.Fatalf("wait %s, want the rest of the window", w)
		}
		if w := th.peek(jane, home, t0.Add(time.Second)); w != 0 {
			t.Fatalf("a clean address must still be checked, wait %s", w)
		}
		if w := th.peek(jane, office, t0.Add(time.Minute)); w != 0 {
			t.Fatalf("window over: wait %s", w)
		}
	})

	t.Run("the right password forgets the pair and does not count", func(t *testing.T) {
		th := &Throttle{FreeFailures: 1, PerUser: 2, Window: time.Minute}
		th.failAt(jane, home, t0)
		th.failAt(jane, home, t0)
		if th.peek(jane, home, t0) == 0 {
			t.Fatal("no wait after two failures")
		}
		th.Succeed(jane, home)
		if w := th.peek(jane, home, t0); w != 0 {
			t.Fatalf("wait %s after success", w)
		}
		for range 5 { // right passwords, again and again: never a failure
			if th.Begin(jane, office, t0) != 0 {
				t.Fatal("a right password was made to wait")
			}
			th.Succeed(jane, office)
		}
	})

	t.Run("IPv6 counts by /64", func(t *testing.T) {
		th := &Throttle{FreeFailures: 1, Window: time.Minute}
		th.failAt(jane, "2001:db8:1:2::1", t0)
		th.failAt(jane, "2001:db8:1:2::ffff", t0)
		if th.peek(jane, "2001:db8:1:2:abcd::9", t0) == 0 {
			t.Fatal("another address of the same /64 is not slowed down")
		}
		if th.peek(jane, "2001:db8:1:3::1", t0) != 0 {
			t.Fatal("another /64 is slowed down")
		}
	})

	t.Run("unknown names are throttled like known users", func(t *testing.T) {
		th := &Throttle{FreeFailures: 1, Window: time.Minute}
		ghost := throttleKey("acme", nil, "Ghost@Example.com")
		th.failAt(ghost, attacker, t0)
		th.failAt(ghost, attacker, t0)
		if th.peek(throttleKey("acme", nil, "ghost@example.com"), attacker, t0) == 0 {
			t.Fatal("an unknown name is not throttled")
		}
	})

	t.Run("quiet pairs are forgotten", func(t *testing.T) {
		th := &Throttle{FreeFailures: 1, Window: time.Minute}
		th.failAt(jane, home, t0)
		th.failAt(jane, home, t0)
		th.Prune(t0.Add(2 * time.Minute))
		if len(th.pairs) != 0 || th.peek(jane, home, t0.Add(2*time.Minute)) != 0 {
			t.Fatal("not forgotten")
		}
	})
}
