// Package throttle slows down guessing (a client's secret at oauth-clients' token
// endpoint, a person's password at iam-subjects' login page) without becoming a way to
// lock others out.
//
// Failures are counted per (tenant, principal, caller address) pair, where the principal
// is whatever is being guessed at: a client, a user.
//
//   - A pair gets FreeFailures failures, then each further failure makes it wait before
//     its next attempt is even checked: 1 s, 2 s, 4 s, ... up to Window. The caller is
//     asked to wait, never locked out. A pair is forgotten once it has been quiet for
//     Window after its wait ended, or when it presents the right credentials.
//   - PerPrincipal failures for one principal (from every address) or PerAddress failures
//     from one address (for every principal) within a window are ceilings: past one, a
//     pair that has failed in this window is refused unchecked until the window ends, so
//     a guesser spread over many addresses gets one try per new address, and an address
//     spraying one guess over many principals is stopped.
//
// A pair with no failures of its own is always checked: a caller presenting the right
// credentials from a place that has not failed is never refused because of what others
// did, whether they guess at the same principal from elsewhere (anyone can learn a
// client_id or a username) or share the caller's address (a NAT, an office, the gateway).
//
// An attempt counts once it has failed (Attempt.Failed), not while it is under way:
// counting attempts in flight would refuse a busy client's own concurrent requests (a
// service with many workers behind one address asks for tokens at once), which is the
// lock-out this package exists to prevent. Concurrent guesses on a clean pair are all
// checked, then all count, and the pair waits accordingly.
//
// IPv6 addresses count by their /64, which one subscriber usually holds whole.
//
// The counts live in each replica's memory: with N replicas a guesser gets at most N
// times the budget. Memory is bounded by MaxKeys pairs (and as many principals and
// addresses), each key cut to a bounded length. Should more pairs fail within a window
// than fit (an attack from very many addresses or on very many principals), the pairs
// not tracked are treated as failed ones, refused unchecked while their principal or
// address is past its ceiling: the one case where a clean pair can be refused, rather
// than let untracked pairs guess without limit.
package throttle

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Limits configure a Limiter; a zero (or negative) field takes its default.
type Limits struct {
	FreeFailures int           // failures of a pair before it waits (default 5)
	PerPrincipal int           // ceiling of failures per window for one principal (default 100)
	PerAddress   int           // ceiling of failures per window from one address (default 100)
	Window       time.Duration // the ceilings' window and the longest wait (default 1 min)
	MaxKeys      int           // pairs tracked at most, and as many principals and addresses (default 100,000)
}

// Keys longer than these are cut: what a caller sends must not decide how much memory a
// tracked pair takes. No principal the services know is longer (a client id has at most
// 128 bytes, a username or email 320); an address is at most 45 bytes written out.
const (
	maxPrincipal = 512
	maxAddress   = 64
)

// Limiter counts failures and tells attempts how long to wait. It is safe for
// concurrent use.
type Limiter struct {
	limits Limits

	// One mutex serves: an attempt holds it twice, for a few map operations each time,
	// which is small beside what checking credentials costs (a hash, a signature).
	mu sync.Mutex
	// Values, not pointers: the common attempt (a clean pair with the right credentials)
	// adds and removes its entries without allocating.
	pairs      map[pairKey]pairFailures
	principals map[principalKey]windowCount
	addrs      map[string]windowCount
	overflow   bool // a pair found no room since the last prune
}

type principalKey struct{ tenant, principal string }

type pairKey struct {
	principalKey
	addr string
}

type pairFailures struct {
	n    int           // failures since the pair was last forgotten, attempts under way included
	last time.Time     // of the last failure
	wait time.Duration // after last, before the next attempt is checked
}

type windowCount struct {
	start time.Time
	n     int
}

// New returns a Limiter with limits (zero fields take the defaults).
func New(limits Limits) *Limiter {
	if limits.FreeFailures <= 0 {
		limits.FreeFailures = 5
	}
	if limits.PerPrincipal <= 0 {
		limits.PerPrincipal = 100
	}
	if limits.PerAddress <= 0 {
		limits.PerAddress = 100
	}
	if limits.Window <= 0 {
		limits.Window = time.Minute
	}
	if limits.MaxKeys <= 0 {
		limits.MaxKeys = 100_000
	}
	return &Limiter{limits: limits, pairs: map[pairKey]pairFailures{},
		principals: map[principalKey]windowCount{}, addrs: map[string]windowCount{}}
}

// addressKey is how an address counts: IPv4 as it is, IPv6 by its /64.
func addressKey(addr string) string {
	if strings.IndexByte(addr, ':') >= 0 { // IPv6, or IPv4 mapped into it
		if a, err := netip.ParseAddr(addr); err == nil {
			if a = a.Unmap(); a.Is6() {
				p, _ := a.Prefix(64)
				addr = p.String()
			} else {
				addr = a.String()
			}
		}
	}
	return cut(addr, maxAddress)
}

func keyOf(tenant, principal, addr string) pairKey {
	return pairKey{principalKey{cut(tenant, maxPrincipal), cut(principal, maxPrincipal)}, addressKey(addr)}
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Attempt is an attempt Begin let through. Exactly one of Failed, Succeeded or
// Undecided should follow; the zero
// Attempt (what Begin returns with a wait) ignores them.
type Attempt struct {
	l *Limiter
	k pairKey
}

// Begin asks whether an attempt for principal of tenant from addr may be checked now:
// zero if so, and the Attempt to settle, else how long it must wait (and nothing was
// counted).
func (l *Limiter) Begin(tenant, principal, addr string, now time.Time) (Attempt, time.Duration) {
	k := keyOf(tenant, principal, addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait := l.wait(k, now); wait > 0 {
		return Attempt{}, wait
	}
	return Attempt{l: l, k: k}, 0
}

// Failed says that the attempt was wrong: it counts now, and its pair's wait runs from
// now, the moment the failure is answered, so that a check slowed down by load (or
// padded to hide its timing) does not eat into the wait.
func (a Attempt) Failed(now time.Time) {
	if a.l == nil {
		return
	}
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	a.l.fail(a.k, now)
}

// Succeeded says that the attempt presented the right credentials: the pair's failures
// are forgotten.
func (a Attempt) Succeeded() {
	if a.l == nil {
		return
	}
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	delete(a.l.pairs, a.k)
}

// Undecided says that the attempt could not be checked (a fault on this side, such as
// the database being away): it counts for nothing.
func (a Attempt) Undecided() {}

// wait is how long an attempt of pair k must wait at now; the caller holds mu.
func (l *Limiter) wait(k pairKey, now time.Time) time.Duration {
	p, ok := l.pairs[k]
	if !ok || l.forgotten(p, now) {
		if !l.overflow {
			return 0 // a clean pair is always checked
		}
		return l.ceiling(k, now)
	}
	return max(p.last.Add(p.wait).Sub(now), l.ceiling(k, now), 0)
}

// waitAfter is a pair's wait after its n-th failure: none for the free ones, then 1 s,
// 2 s, 4 s, ... up to the window.
func (l *Limiter) waitAfter(n int) time.Duration {
	over := n - l.limits.FreeFailures
	if over <= 0 {
		return 0
	}
	return min(time.Second<<min(over-1, 30), l.limits.Window)
}

// ceiling is how long the pair's principal or address stays past its ceiling.
func (l *Limiter) ceiling(k pairKey, now time.Time) time.Duration {
	var wait time.Duration
	if c := l.principals[k.principalKey]; c.n >= l.limits.PerPrincipal {
		wait = c.start.Add(l.limits.Window).Sub(now)
	}
	if a := l.addrs[k.addr]; a.n >= l.limits.PerAddress {
		wait = max(wait, a.start.Add(l.limits.Window).Sub(now))
	}
	return wait
}

func (l *Limiter) forgotten(p pairFailures, now time.Time) bool {
	return now.Sub(p.last) >= p.wait+l.limits.Window
}

// fail counts a failure of pair k; the caller holds mu.
func (l *Limiter) fail(k pairKey, now time.Time) {
	p, tracked := l.pairs[k]
	if tracked && l.forgotten(p, now) {
		p = pairFailures{}
	}
	if !tracked && len(l.pairs) >= l.limits.MaxKeys {
		l.prune(now)
	}
	if tracked || len(l.pairs) < l.limits.MaxKeys {
		p.n++
		p.last = now
		p.wait = l.waitAfter(p.n)
		l.pairs[k] = p
	} else {
		l.overflow = true
	}
	count(l.principals, k.principalKey, now, l.limits.Window, l.limits.MaxKeys)
	count(l.addrs, k.addr, now, l.limits.Window, l.limits.MaxKeys)
}

// count counts one in key's window, starting a new one if it has ended (nothing if there
// is no room).
func count[K comparable](m map[K]windowCount, key K, now time.Time, window time.Duration, maxKeys int) {
	c, ok := m[key]
	if ok && now.Sub(c.start) >= window {
		c = windowCount{start: now}
	}
	if !ok {
		if len(m) >= maxKeys {
			pruneWindows(m, now, window)
			if len(m) >= maxKeys {
				return
			}
		}
		c = windowCount{start: now}
	}
	c.n++
	m[key] = c
}

func pruneWindows[K comparable](m map[K]windowCount, now time.Time, window time.Duration) {
	for k, c := range m {
		if now.Sub(c.start) >= window {
			delete(m, k)
		}
	}
}

// prune forgets quiet pairs and ended windows; the caller holds mu.
func (l *Limiter) prune(now time.Time) {
	for k, p := range l.pairs {
		if l.forgotten(p, now) {
			delete(l.pairs, k)
		}
	}
	pruneWindows(l.principals, now, l.limits.Window)
	pruneWindows(l.addrs, now, l.limits.Window)
	if len(l.pairs) < l.limits.MaxKeys {
		l.overflow = false
	}
}

// Prune forgets quiet pairs and ended windows; run it now and then (every Window, say)
// to bound memory.
func (l *Limiter) Prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
}
