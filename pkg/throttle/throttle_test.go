package throttle

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// failAt is a wrong guess: an attempt let through, then found wrong. It reports whether
// the attempt was let through.
func (l *Limiter) failAt(tenant, principal, addr string, now time.Time) bool {
	a, wait := l.Begin(tenant, principal, addr, now)
	a.Failed(now)
	return wait == 0
}

// peek is how long an attempt would wait, without making one.
func (l *Limiter) peek(tenant, principal, addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.wait(keyOf(tenant, principal, addr), now)
}

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	const home, office, attacker = "198.51.100.7", "203.0.113.9", "192.0.2.66"

	for _, tc := range []struct {
		name   string
		limits Limits
		check  func(t *testing.T, l *Limiter)
	}{
		{"defaults", Limits{}, func(t *testing.T, l *Limiter) {
			if want := (Limits{FreeFailures: 5, PerPrincipal: 100, PerAddress: 100, Window: time.Minute, MaxKeys: 100_000}); l.limits != want {
				t.Fatalf("limits %+v, want %+v", l.limits, want)
			}
		}},
		{"a pair is checked before any failure", Limits{}, func(t *testing.T, l *Limiter) {
			if a, w := l.Begin("acme", "c1", home, t0); w != 0 || a.l == nil {
				t.Fatalf("refused before any failure: wait %s", w)
			}
		}},
		{"free failures, then waits that double up to the window", Limits{FreeFailures: 3, Window: 10 * time.Second}, func(t *testing.T, l *Limiter) {
			now := t0
			var waits []time.Duration
			for range 8 {
				a, w := l.Begin("acme", "jane", attacker, now)
				if w > 0 {
					t.Fatalf("refused after its wait had passed: wait %s", w)
				}
				a.Failed(now)
				w = l.peek("acme", "jane", attacker, now)
				waits = append(waits, w)
				if w > 0 {
					if _, still := l.Begin("acme", "jane", attacker, now.Add(w-time.Nanosecond)); still != time.Nanosecond {
						t.Fatalf("just before its wait ends an attempt waits %s, want 1ns", still)
					}
				}
				now = now.Add(w)
			}
			want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second}
			if fmt.Sprint(waits) != fmt.Sprint(want) {
				t.Fatalf("waits %v, want %v", waits, want)
			}
		}},
		{"the wait runs from the failure's answer", Limits{FreeFailures: 1}, func(t *testing.T, l *Limiter) {
			l.failAt("acme", "jane", attacker, t0)
			a, _ := l.Begin("acme", "jane", attacker, t0)
			a.Failed(t0.Add(3 * time.Second)) // a slow check
			if w := l.peek("acme", "jane", attacker, t0.Add(3*time.Second)); w != time.Second {
				t.Fatalf("wait %s", w)
			}
		}},
		{"a busy caller's concurrent attempts are all checked; their failures then count", Limits{FreeFailures: 5}, func(t *testing.T, l *Limiter) {
			// A service with many workers behind one address asks for tokens at once: none
			// of its attempts may be refused for the others being under way.
			var wg sync.WaitGroup
			var mu sync.Mutex
			var attempts []Attempt
			for range 50 {
				wg.Go(func() {
					if a, w := l.Begin("acme", "jane", attacker, t0); w == 0 {
						mu.Lock()
						attempts = append(attempts, a)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(attempts) != 50 {
				t.Fatalf("%d of 50 simultaneous attempts checked", len(attempts))
			}
			for _, a := range attempts {
				a.Failed(t0)
			}
			if _, w := l.Begin("acme", "jane", attacker, t0); w != time.Minute {
				t.Fatalf("after 50 failures the pair waits %s, want the window", w)
			}
		}},
		{"nobody else waits", Limits{FreeFailures: 1, PerPrincipal: 5, PerAddress: 5}, func(t *testing.T, l *Limiter) {
			for i := range 20 {
				l.failAt("acme", "jane", attacker, t0.Add(time.Duration(i)*time.Millisecond))
			}
			now := t0.Add(time.Second)
			if w := l.peek("acme", "jane", attacker, now); w <= 0 {
				t.Fatal("the guessing pair is not slowed down")
			}
			for _, c := range []struct{ who, tenant, principal, addr string }{
				{"the principal from another address", "acme", "jane", home},
				{"another principal from the same (shared) address", "acme", "other", attacker},
				{"the same name in another tenant", "globex", "jane", attacker},
			} {
				if w := l.peek(c.tenant, c.principal, c.addr, now); w != 0 {
					t.Errorf("%s waits %s because of someone else", c.who, w)
				}
			}
		}},
		{"the right credentials forget the pair and do not count", Limits{FreeFailures: 1, PerPrincipal: 3}, func(t *testing.T, l *Limiter) {
			l.failAt("acme", "jane", home, t0)
			l.failAt("acme", "jane", home, t0)
			if l.peek("acme", "jane", home, t0) == 0 {
				t.Fatal("no wait after two failures")
			}
			a, _ := l.Begin("acme", "jane", home, t0.Add(time.Second))
			a.Succeeded()
			if _, ok := l.pairs[keyOf("acme", "jane", home)]; ok {
				t.Fatal("a success does not forget the pair")
			}
			if w := l.peek("acme", "jane", home, t0.Add(time.Second)); w != 0 {
				t.Fatalf("wait %s after success", w)
			}
			for range 5 { // right credentials, again and again: never a failure
				a, w := l.Begin("acme", "jane", office, t0)
				if w != 0 {
					t.Fatal("right credentials were made to wait")
				}
				a.Succeeded()
			}
			if c := l.principals[principalKey{"acme", "jane"}]; c.n != 2 {
				t.Fatalf("the principal's count %+v, want the two failures", c)
			}
		}},
		{"an undecided attempt counts for nothing", Limits{FreeFailures: 1}, func(t *testing.T, l *Limiter) {
			a, _ := l.Begin("acme", "jane", home, t0)
			a.Undecided()
			if len(l.pairs) != 0 || len(l.principals) != 0 || len(l.addrs) != 0 {
				t.Fatalf("a pair with no failure of its own is not clean again: %d pairs, %d principals, %d addresses",
					len(l.pairs), len(l.principals), len(l.addrs))
			}
			l.failAt("acme", "jane", home, t0)
			a, _ = l.Begin("acme", "jane", home, t0) // the attempt that would start a wait
			a.Undecided()
			if w := l.peek("acme", "jane", home, t0); w != 0 {
				t.Fatalf("an undecided attempt made the pair wait %s", w)
			}
			if p := l.pairs[keyOf("acme", "jane", home)]; p.n != 1 {
				t.Fatalf("the pair lost its earlier failure: %+v", p)
			}
			if c := l.principals[principalKey{"acme", "jane"}]; c.n != 1 {
				t.Fatalf("the principal's count %+v, want the one failure", c)
			}
			l.failAt("acme", "jane", home, t0)
			if w := l.peek("acme", "jane", home, t0); w != time.Second {
				t.Fatalf("the next failure waits %s, want 1s", w)
			}
		}},
		{"an outcome never takes a count from a later window", Limits{PerAddress: 2}, func(t *testing.T, l *Limiter) {
			slow, _ := l.Begin("acme", "jane", attacker, t0)
			l.failAt("acme", "other", attacker, t0.Add(time.Minute)) // a new window
			slow.Succeeded()
			l.failAt("acme", "third", attacker, t0.Add(time.Minute))
			if w := l.peek("acme", "other", attacker, t0.Add(time.Minute)); w != time.Minute {
				t.Fatalf("two failures in the window, the pair waits %s, want the window", w)
			}
		}},
		{"past the address's ceiling a pair that failed waits for the window", Limits{FreeFailures: 3, PerPrincipal: 10, PerAddress: 7}, func(t *testing.T, l *Limiter) {
			// Six failures of c1 from the address, then a success (which does not count),
			// then a seventh.
			now := t0
			for range 6 {
				if !l.failAt("acme", "c1", office, now) {
					t.Fatal("refused")
				}
				now = now.Add(l.peek("acme", "c1", office, now))
			}
			a, w := l.Begin("acme", "c1", office, now)
			if w != 0 {
				t.Fatalf("refused after its wait: %s", w)
			}
			a.Succeeded()
			l.failAt("acme", "c1", office, now)
			if w := l.peek("acme", "c1", office, now); w != t0.Add(time.Minute).Sub(now) {
				t.Errorf("a failed pair past the address ceiling: wait %s, want %s", w, t0.Add(time.Minute).Sub(now))
			}
			if w := l.peek("acme", "c3", office, now); w != 0 {
				t.Errorf("a clean pair past the address ceiling waits %s", w)
			}
		}},
		{"past the principal's ceiling a pair that failed waits for the window", Limits{FreeFailures: 5, PerPrincipal: 3}, func(t *testing.T, l *Limiter) {
			l.failAt("acme", "c9", "192.0.2.1", t0)
			l.failAt("acme", "c9", "192.0.2.2", t0)
			l.failAt("acme", "c9", office, t0)
			// office has one failure of its own (free), but the principal is past its ceiling.
			if w := l.peek("acme", "c9", office, t0); w != time.Minute {
				t.Fatalf("wait %s at once, want the window", w)
			}
			if w := l.peek("acme", "c9", office, t0.Add(time.Second)); w != 59*time.Second {
				t.Fatalf("wait %s, want the rest of the window", w)
			}
			if w := l.peek("acme", "c9", home, t0.Add(time.Second)); w != 0 {
				t.Fatalf("a clean address must still be checked, wait %s", w)
			}
			if w := l.peek("acme", "c9", office, t0.Add(time.Minute)); w != 0 {
				t.Fatalf("window over: wait %s", w)
			}
		}},
		{"IPv6 counts by /64", Limits{FreeFailures: 1}, func(t *testing.T, l *Limiter) {
			l.failAt("acme", "jane", "2001:db8:1:2::1", t0)
			l.failAt("acme", "jane", "2001:db8:1:2::ffff", t0)
			if w := l.peek("acme", "jane", "2001:db8:1:2:abcd::9", t0); w != time.Second {
				t.Fatalf("another address of the same /64 waits %s, want 1s", w)
			}
			if l.peek("acme", "jane", "2001:db8:1:3::1", t0) != 0 {
				t.Fatal("another /64 is slowed down")
			}
			l.failAt("acme", "jane", "::ffff:192.0.2.1", t0)
			l.failAt("acme", "jane", "192.0.2.1", t0)
			if l.peek("acme", "jane", "192.0.2.1", t0) == 0 {
				t.Fatal("an IPv4 address mapped into IPv6 counts apart from itself")
			}
		}},
		{"quiet pairs and ended windows are forgotten", Limits{FreeFailures: 1, PerPrincipal: 2}, func(t *testing.T, l *Limiter) {
			for i := range 3 {
				l.failAt("acme", "jane", home, t0)
				l.failAt("acme", fmt.Sprint("c", i), fmt.Sprint("192.0.2.", i), t0)
			}
			end := t0.Add(10 * time.Minute)
			if l.peek("acme", "jane", home, end) != 0 || l.peek("acme", "c1", "192.0.2.1", end) != 0 {
				t.Fatal("still refused long after")
			}
			l.Prune(end)
			if len(l.pairs) != 0 || len(l.principals) != 0 || len(l.addrs) != 0 {
				t.Fatalf("after prune: %d pairs, %d principals, %d addresses", len(l.pairs), len(l.principals), len(l.addrs))
			}
		}},
		{"memory is bounded; a pair that found no room counts as failed past a ceiling", Limits{MaxKeys: 10, PerAddress: 20}, func(t *testing.T, l *Limiter) {
			for i := range 100 {
				l.failAt("acme", fmt.Sprint("junk", i), "10.0.0.1", t0)
			}
			if len(l.pairs) > 10 || len(l.principals) > 10 || len(l.addrs) > 10 {
				t.Errorf("unbounded: %d pairs, %d principals, %d addresses", len(l.pairs), len(l.principals), len(l.addrs))
			}
			if w := l.peek("acme", "victim", "10.0.0.1", t0); w == 0 {
				t.Error("an untracked pair of an address past its ceiling is checked")
			}
			if w := l.peek("acme", "victim", "10.0.0.2", t0); w != 0 {
				t.Errorf("an untracked pair of a clean address and principal waits %s", w)
			}
		}},
		{"long keys are cut", Limits{}, func(t *testing.T, l *Limiter) {
			l.failAt(strings.Repeat("t", 5000), strings.Repeat("p", 5000), strings.Repeat("a", 5000), t0)
			for k := range l.pairs {
				if len(k.tenant) > maxPrincipal || len(k.principal) > maxPrincipal || len(k.addr) > maxAddress {
					t.Fatalf("a key of %d, %d and %d bytes", len(k.tenant), len(k.principal), len(k.addr))
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, New(tc.limits)) })
	}
}

// BenchmarkAttempt is the token endpoint's common case: clean pairs with the right
// credentials, while somebody else's failures are tracked.
func BenchmarkAttempt(b *testing.B) {
	now := time.Now()
	l := New(Limits{})
	l.failAt("acme", "someone-else", "10.0.0.1", now)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a, _ := l.Begin("acme", "c1", "10.0.0.2", now)
			a.Succeeded()
		}
	})
}
