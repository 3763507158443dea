package clients

import (
	"fmt"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/throttle"
)

// The limiter's own rules are tested in package throttle; this is client
// authentication's default ceiling per client.
func TestFailureLimiterDefaults(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		limits  throttle.Limits
		ceiling int
	}{
		{"a client's ceiling is 1000 failures a window unless configured", throttle.Limits{}, 1000},
		{"configured", throttle.Limits{PerPrincipal: 8}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewFailureLimiter(tc.limits)
			// One failure from each of as many addresses (IPv6, so the per-address
			// ceiling is not reached) as the ceiling minus one: the client is below it.
			for i := range tc.ceiling - 1 {
				a, _ := l.Begin("acme", "c1", fmt.Sprintf("2001:db8:%x::1", i), t0)
				a.Failed(t0)
			}
			a, wait := l.Begin("acme", "c1", "2001:db8:0::1", t0)
			if wait != 0 {
				t.Fatalf("refused below the ceiling: wait %s", wait)
			}
			// That attempt fails too: the client is at its ceiling, and a pair that has
			// failed waits for the window.
			a.Failed(t0)
			if _, wait := l.Begin("acme", "c1", "2001:db8:1::1", t0); wait != time.Minute {
				t.Fatalf("at the ceiling: wait %s, want the window", wait)
			}
		})
	}
}
