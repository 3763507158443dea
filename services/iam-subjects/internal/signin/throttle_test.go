package signin

import (
	"strings"
	"testing"
	"time"

	"github.com/iamplane/iam/pkg/throttle"
)

// The limiter's own rules are tested in package throttle; these are sign-in's: how a
// user is named, and the throttle's defaults.
func TestThrottlePrincipal(t *testing.T) {
	jane := &Credential{Tenant: "acme", UserID: "jane-id"}
	long := strings.Repeat("x", maxLoginLength)
	for _, tc := range []struct {
		name      string
		cred      *Credential
		login     string
		sameAs    *Credential
		sameLogin string
		same      bool
	}{
		{"unknown names are throttled like known users, whatever their case", nil, "Ghost@Example.com", nil, "ghost@example.com", true},
		{"a known user is one however the name is typed", jane, "Jane", jane, "jane@example.com", true},
		{"an unknown name never stands for a user's id", nil, "jane-id", jane, "", false},
		{"two unknown names are two", nil, "ghost", nil, "ghast", false},
		{"names longer than any login count by their start", nil, long + "a", nil, long + "b", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := throttlePrincipal(tc.cred, tc.login), throttlePrincipal(tc.sameAs, tc.sameLogin)
			if (a == b) != tc.same {
				t.Fatalf("%q and %q: same %v, want %v", a, b, a == b, tc.same)
			}
			// And through the limiter: one's failures make the other wait, or not.
			l := NewThrottle(throttle.Limits{FreeFailures: 1})
			t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
			for range 2 {
				attempt, _ := l.Begin("acme", a, "192.0.2.66", t0)
				attempt.Failed(t0)
			}
			if _, wait := l.Begin("acme", b, "192.0.2.66", t0); (wait > 0) != tc.same {
				t.Fatalf("the other waits %s", wait)
			}
		})
	}
}

func TestThrottleDefaults(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	// The window is 15 minutes unless configured: past the user's ceiling (one failure
	// here) the address that failed waits for the rest of it.
	for _, tc := range []struct {
		name   string
		limits throttle.Limits
		want   time.Duration
	}{
		{"default window", throttle.Limits{PerPrincipal: 1}, 15 * time.Minute},
		{"configured window", throttle.Limits{PerPrincipal: 1, Window: time.Minute}, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewThrottle(tc.limits)
			attempt, _ := l.Begin("acme", "id:jane", "192.0.2.66", t0)
			attempt.Failed(t0)
			if _, wait := l.Begin("acme", "id:jane", "192.0.2.66", t0); wait != tc.want {
				t.Fatalf("wait %s, want %s", wait, tc.want)
			}
		})
	}
}
