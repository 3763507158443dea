package signin

import (
	"testing"
	"time"
)

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
			if w := th.Check(jane, attacker, now); w > 0 {
				t.Fatalf("checked before its wait had passed? wait %s", w)
			}
			th.Fail(jane, attacker, now)
			w := th.Check(jane, attacker, now)
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

	t.Run("a clean address is checked whatever others did", func(t *testing.T) {
		th := &Throttle{FreeFailures: 1, PerUser: 5, PerAddress: 5, Window: time.Minute}
		for i := range 20 {
			th.Fail(jane, attacker, t0.Add(time.Duration(i)*time.Millisecond))
		}
		if w := th.Check(jane, attacker, t0.Add(time.Second)); w <= 0 {
			t.Fatal("the guessing address is not slowed down")
		}
		if w := th.Check(jane, home, t0.Add(time.Second)); w != 0 {
			t.Fatalf("the person at home must wait %s because of someone else", w)
		}
		if w := th.Check(other, attacker, t0.Add(time.Second)); w != 0 {
			t.Fatalf("another user from the same (shared) address must wait %s", w)
		}
	})

	t.Run("past the user's ceiling an address that failed waits for the window", func(t *testing.T) {
		th := &Throttle{FreeFailures: 5, PerUser: 3, Window: time.Minute}
		th.Fail(jane, "192.0.2.1", t0)
		th.Fail(jane, "192.0.2.2", t0)
		th.Fail(jane, office, t0)
		// office has one failure of its own (free), but the user is past its ceiling.
		if w := th.Check(jane, office, t0.Add(time.Second)); w != 59*time.Second {
			t.Fatalf("wait %s, want the rest of the window", w)
		}
		if w := th.Check(jane, home, t0.Add(time.Second)); w != 0 {
			t.Fatalf("a clean address must still be checked, wait %s", w)
		}
		if w := th.Check(jane, office, t0.Add(time.Minute)); w != 0 {
			t.Fatalf("window over: wait %s", w)
		}
	})

	t.Run("the right password forgets the pair", func(t *testing.T) {
		th := &Throttle{FreeFailures: 1, Window: time.Minute}
		th.Fail(jane, home, t0)
		th.Fail(jane, home, t0)
		if th.Check(jane, home, t0) == 0 {
			t.Fatal("no wait after two failures")
		}
		th.Succeed(jane, home)
		if w := th.Check(jane, home, t0); w != 0 {
			t.Fatalf("wait %s after success", w)
		}
	})

	t.Run("IPv6 counts by /64", func(t *testing.T) {
		th := &Throttle{FreeFailures: 1, Window: time.Minute}
		th.Fail(jane, "2001:db8:1:2::1", t0)
		th.Fail(jane, "2001:db8:1:2::ffff", t0)
		if th.Check(jane, "2001:db8:1:2:abcd::9", t0) == 0 {
			t.Fatal("another address of the same /64 is not slowed down")
		}
		if th.Check(jane, "2001:db8:1:3::1", t0) != 0 {
			t.Fatal("another /64 is slowed down")
		}
	})

	t.Run("unknown names are throttled like known users", func(t *testing.T) {
		th := &Throttle{FreeFailures: 1, Window: time.Minute}
		ghost := throttleKey("acme", nil, "Ghost@Example.com")
		th.Fail(ghost, attacker, t0)
		th.Fail(ghost, attacker, t0)
		if th.Check(throttleKey("acme", nil, "ghost@example.com"), attacker, t0) == 0 {
			t.Fatal("an unknown name is not throttled")
		}
	})

	t.Run("quiet pairs are forgotten", func(t *testing.T) {
		th := &Throttle{FreeFailures: 1, Window: time.Minute}
		th.Fail(jane, home, t0)
		th.Fail(jane, home, t0)
		th.Prune(t0.Add(2 * time.Minute))
		if th.tracked.Load() != 0 || th.Check(jane, home, t0.Add(2*time.Minute)) != 0 {
			t.Fatal("not forgotten")
		}
	})
}
