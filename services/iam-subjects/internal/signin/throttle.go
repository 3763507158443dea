package signin

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Throttle slows down password guessing without becoming a way to lock others out. It
// follows oauth-clients' client-authentication limiter (clients.FailureLimiter), with a
// user where that one has a client. Failures are counted per (user, caller address) pair:
//
//   - a pair gets FreeFailures failures, then each further failure makes it wait before
//     its next attempt is even checked: 1 s, 2 s, 4 s, ... up to Window. The person is
//     asked to wait, never locked out. A pair is forgotten once it has been quiet for
//     Window after its wait ended, or when it presents the right password;
//   - PerUser failures for one user (from every address) or PerAddress failures from one
//     address (for every user) within a window are ceilings: past one, a pair that has
//     failed in this window is refused unchecked until the window ends, so a guesser
//     spread over many addresses gets one try per new address, and an address spraying
//     one password over many users is stopped.
//
// A pair with no failures of its own is always checked: a person typing the right
// password from a place that has not failed is never refused because of what others did,
// whether they guess at the same user from elsewhere or share the person's address (a
// NAT, an office, the gateway).
//
// A user is named by its id when it exists, else by what was typed (lower-cased): an
// unknown name is throttled exactly like a known one, so the throttle tells nothing of
// who exists. IPv6 addresses count by their /64, which one subscriber usually holds
// whole.
//
// Sign-ins are few (each costs an argon2id verification), so one mutex serves.
//
// The counts live in each replica's memory: with N replicas a guesser gets at most N
// times the budget. Memory is bounded by MaxKeys pairs (and as many users and addresses).
// Should more pairs fail within a window than fit, the pairs not tracked are treated as
// failed ones, refused unchecked while their user or address is past its ceiling: the
// one case where a clean pair can be refused, rather than let untracked pairs guess
// without limit.
type Throttle struct {
	FreeFailures int           // failures of a pair before it waits (default 5)
	PerUser      int           // ceiling of failures per window for one user (default 100)
	PerAddress   int           // ceiling of failures per window from one address (default 100)
	Window       time.Duration // the ceilings' window and the longest wait (default 15 min)
	MaxKeys      int           // pairs tracked at most, and as many users and addresses (default 100,000)

	once     sync.Once
	mu       sync.RWMutex
	pairs    map[pairKey]*pairFailures
	users    map[userKey]*windowCount
	addrs    map[string]*windowCount
	overflow bool // a failed pair found no room since the last prune
}

type userKey struct{ tenant, user string }

type pairKey struct {
	userKey
	addr string
}

type pairFailures struct {
	n    int           // failures since the pair was last forgotten
	last time.Time     // of the last failure
	wait time.Duration // after last, before the next attempt is checked
}

type windowCount struct {
	start time.Time
	n     int
}

// throttleKey names the user an attempt is for: its id when it exists, else the name
// typed.
func throttleKey(tenant string, cred *Credential, login string) userKey {
	if cred != nil {
		return userKey{tenant, "id:" + cred.UserID}
	}
	login = strings.ToLower(login)
	if len(login) > 320 {
		login = login[:320]
	}
	return userKey{tenant, "name:" + login}
}

func (t *Throttle) init() {
	t.once.Do(func() {
		if t.FreeFailures <= 0 {
			t.FreeFailures = 5
		}
		if t.PerUser <= 0 {
			t.PerUser = 100
		}
		if t.PerAddress <= 0 {
			t.PerAddress = 100
		}
		if t.Window <= 0 {
			t.Window = 15 * time.Minute
		}
		if t.MaxKeys <= 0 {
			t.MaxKeys = 100_000
		}
		t.pairs, t.users, t.addrs = map[pairKey]*pairFailures{}, map[userKey]*windowCount{}, map[string]*windowCount{}
	})
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
	if len(addr) > 64 {
		addr = addr[:64]
	}
	return addr
}

// Begin asks whether an attempt for user from addr may have its password checked now:
// zero if so, else how long it must wait. An attempt let through counts as a failure at
// once, so that concurrent attempts cannot all slip through a pair's budget before any
// of them has failed; Failed then restarts its wait from the failure's answer (a
// verification slowed by load must not eat into it), Succeed takes it back.
func (t *Throttle) Begin(user userKey, addr string, now time.Time) time.Duration {
	t.init()
	k := pairKey{user, addressKey(addr)}
	t.mu.Lock()
	defer t.mu.Unlock()
	if wait := t.wait(k, now); wait > 0 {
		return wait
	}
	t.fail(k, now)
	return 0
}

// Failed says that the attempt Begin let through was wrong; its pair's wait runs from now.
func (t *Throttle) Failed(user userKey, addr string, now time.Time) {
	t.init()
	k := pairKey{user, addressKey(addr)}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.pairs[k]; p != nil && now.After(p.last) {
		p.last = now
	}
}

// Succeed says that the attempt Begin let through gave the right password: the pair's
// failures are forgotten, and the attempt no longer counts against the user or address.
func (t *Throttle) Succeed(user userKey, addr string) {
	t.init()
	k := pairKey{user, addressKey(addr)}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pairs, k)
	for _, c := range []*windowCount{t.users[k.userKey], t.addrs[k.addr]} {
		if c != nil && c.n > 0 {
			c.n--
		}
	}
}

// wait is how long an attempt of pair k must wait at now; the caller holds mu.
func (t *Throttle) wait(k pairKey, now time.Time) time.Duration {
	p := t.pairs[k]
	if p == nil || t.forgotten(p, now) {
		if !t.overflow {
			return 0 // a clean pair is always checked
		}
		return t.ceiling(k, now)
	}
	return max(p.last.Add(p.wait).Sub(now), t.ceiling(k, now), 0)
}

// ceiling is how long the pair's user or address stays past its ceiling.
func (t *Throttle) ceiling(k pairKey, now time.Time) time.Duration {
	var wait time.Duration
	if c := t.users[k.userKey]; c != nil && c.n >= t.PerUser {
		wait = c.start.Add(t.Window).Sub(now)
	}
	if a := t.addrs[k.addr]; a != nil && a.n >= t.PerAddress {
		wait = max(wait, a.start.Add(t.Window).Sub(now))
	}
	return wait
}

func (t *Throttle) forgotten(p *pairFailures, now time.Time) bool {
	return now.Sub(p.last) >= p.wait+t.Window
}

// fail counts a failure of pair k; the caller holds mu.
func (t *Throttle) fail(k pairKey, now time.Time) {
	p := t.pairs[k]
	if p != nil && t.forgotten(p, now) {
		*p = pairFailures{}
	}
	if p == nil {
		if len(t.pairs) >= t.MaxKeys {
			t.prune(now)
		}
		if len(t.pairs) >= t.MaxKeys {
			t.overflow = true
		} else {
			p = &pairFailures{}
			t.pairs[k] = p
		}
	}
	if p != nil {
		p.n++
		p.last = now
		if over := p.n - t.FreeFailures; over > 0 {
			p.wait = min(time.Second<<min(over-1, 30), t.Window)
		}
	}
	count(t.users, k.userKey, now, t.Window, t.MaxKeys)
	count(t.addrs, k.addr, now, t.Window, t.MaxKeys)
}

func count[K comparable](m map[K]*windowCount, key K, now time.Time, window time.Duration, maxKeys int) {
	c := m[key]
	if c != nil && now.Sub(c.start) >= window {
		c.start, c.n = now, 0
	}
	if c == nil {
		if len(m) >= maxKeys {
			pruneWindows(m, now, window)
			if len(m) >= maxKeys {
				return
			}
		}
		c = &windowCount{start: now}
		m[key] = c
	}
	c.n++
}

func pruneWindows[K comparable](m map[K]*windowCount, now time.Time, window time.Duration) {
	for k, c := range m {
		if now.Sub(c.start) >= window {
			delete(m, k)
		}
	}
}

// prune forgets quiet pairs and ended windows; the caller holds mu.
func (t *Throttle) prune(now time.Time) {
	for k, p := range t.pairs {
		if t.forgotten(p, now) {
			delete(t.pairs, k)
		}
	}
	pruneWindows(t.users, now, t.Window)
	pruneWindows(t.addrs, now, t.Window)
	if len(t.pairs) < t.MaxKeys {
		t.overflow = false
	}
}

// Prune forgets quiet pairs and ended windows; run it now and then to bound memory.
func (t *Throttle) Prune(now time.Time) {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune(now)
}
